"""Re-embedding as a job: move a collection's vectors to the platform's configured embedder.

The ``knowledge.reembed`` job reads every chunk's text, embeds it in batches and stages the new
vectors beside the live ones (``chunk_vector_staging``); searches keep using the old vectors.
Then the store swaps them in with one transaction that also records the new model and
dimension on the collection, so no search ever mixes vectors of two models, and chunk ids (and
so citations) stay as they were.

Documents added or replaced while the job runs are caught at the swap: it happens only if
every chunk of the collection has a staged vector, checked inside the swap transaction; if
not, the job embeds the newcomers and tries again. New uploads into the collection are refused
while a re-embed is queued or running (they would be embedded with the old model's settings
or fail on the model mismatch), so in practice the swap succeeds the first time.

Retries resume: staged vectors survive a failed attempt, and the next one embeds only the
chunks still missing. A cancelled job, or one that failed for good, discards what it staged, and
a new job's first attempt discards whatever an earlier job left.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from collections.abc import Collection as Coll
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from aiharness.audit import record
from aiharness.errors import Conflict
from aiharness.jobs import service as jobs_service
from aiharness.jobs.context import JobCancelled, JobContext, JobLost
from aiharness.jobs.models import Job
from aiharness.jobs.queue import QueueHub
from aiharness.jobs.registry import PermanentJobError, job_type
from aiharness.jobs.schemas import JobCreate
from aiharness.knowledge import service
from aiharness.knowledge.embedders import Embedder, EmbedderInputError
from aiharness.knowledge.models import Collection
from aiharness.knowledge.runtime import KnowledgeRuntime
from aiharness.knowledge.schemas import ReembedResponse, ReembedState
from aiharness.knowledge.stores import staging
from aiharness.knowledge.stores.base import KnowledgeStore
from aiharness.observability.logging import get_logger

log = get_logger("aiharness.knowledge.reembed")

JOB_TYPE = "knowledge.reembed"
ACTIVE_STATUSES = ("queued", "running", "retrying")
EMBED_BATCH = 32  # texts per embedder call
STAGE_PAGE = 512  # chunks read, embedded and staged per store transaction
MAX_SWAP_ROUNDS = 5  # swaps retried after documents arrived meanwhile


class ReembedParams(BaseModel):
    collection_id: int = Field(ge=1)
    # What the API saw configured; a worker set up differently refuses the job. Empty (a job
    # submitted by hand): the worker's configured embedder.
    target_model: str | None = Field(None, min_length=1, max_length=200)
    target_dim: int | None = Field(None, ge=1, le=65_536)
    force: bool = Field(False, description="Re-embed even if the collection uses the model.")


class ReembedConflictError(Conflict):
    default_code = "reembed_conflict"


# -- state and submission (API, UI, CLI) -----------------------------------------------------
def active_reembeds(session: Session, collection_ids: Coll[int] | None = None) -> dict[int, Job]:
    """The oldest unfinished re-embed job of each collection (of ``collection_ids`` if given)."""
    jobs = session.scalars(
        select(Job)
        .where(Job.type == JOB_TYPE, Job.status.in_(ACTIVE_STATUSES))
        .order_by(Job.created_at, Job.id)
    ).all()
    found: dict[int, Job] = {}
    for job in jobs:
        cid = (job.params or {}).get("collection_id")
        if isinstance(cid, int) and (collection_ids is None or cid in collection_ids):
            found.setdefault(cid, job)
    return found


def reembed_states(session: Session, collection_ids: Coll[int]) -> dict[int, ReembedState]:
    return {cid: state_of(job) for cid, job in active_reembeds(session, collection_ids).items()}


def state_of(job: Job) -> ReembedState:
    params = job.params or {}
    total = job.progress_total
    return ReembedState(
        job_id=job.id,
        status=job.status,
        target_model=params.get("target_model"),
        target_dim=params.get("target_dim"),
        done=job.progress_done,
        total=total,
        percent=round(min(job.progress_done / total, 1.0) * 100, 1) if total else None,
    )


def refuse_while_reembedding(session: Session, collection: Collection) -> None:
    """Ingestion waits for the re-embed to finish: say so instead of queueing it."""
    job = active_reembeds(session, [collection.id]).get(collection.id)
    if job is not None:
        raise ReembedConflictError(
            f"collection {collection.name!r} is being re-embedded (job {job.id}, {job.status}); "
            "add documents again once that job has finished (`aiharness jobs show "
            f"{job.id[:12]}`)"
        )


def submit_reembed(
    *,
    session: Session,
    queues: QueueHub,
    collection_name: str,
    identity: Callable[[], tuple[str, int]],
    force: bool = False,
) -> ReembedResponse:
    """Queue a re-embed of the collection to the configured embedder (``identity``).

    404 for an unknown collection; 409 if a re-embed of it is unfinished, or if it already
    uses the configured model and ``force`` is not set.
    """
    collection = service.get_collection(session=session, name=collection_name)
    running = active_reembeds(session, [collection.id]).get(collection.id)
    if running is not None:
        raise ReembedConflictError(
            f"collection {collection.name!r} is already being re-embedded by job {running.id} "
            f"({running.status}); follow it with `aiharness jobs show {running.id[:12]}`"
        )
    model, dim = identity()
    source = (collection.embedding_model, collection.embedding_dim)
    if source == (model, dim) and not force:
        raise ReembedConflictError(
            f"collection {collection.name!r} already uses {model} ({dim} dimensions), the "
            "configured embedder; there is nothing to re-embed (to re-embed anyway: `--force` "
            'on the CLI, "force": true in the API)'
        )
    job = jobs_service.submit_job(
        session=session,
        queues=queues,
        also=lambda session, job: record(
            session,
            action="knowledge.reembed",
            target=f"collection:{collection.name}",
            details={
                "job_id": job.id,
                "from_model": source[0],
                "to_model": model,
                "to_dim": dim,
                "force": force,
            },
        ),
        job_in=JobCreate(
            type=JOB_TYPE,
            params={
                "collection_id": collection.id,
                "target_model": model,
                "target_dim": dim,
                "force": force,
            },
        ),
    )
    assert job is not None  # no dedupe key: never None
    return ReembedResponse(
        collection=collection.name,
        job_id=job.id,
        from_model=source[0],
        from_dim=source[1],
        to_model=model,
        to_dim=dim,
    )


# -- the job -----------------------------------------------------------------------------------
@job_type(JOB_TYPE, params=ReembedParams, max_attempts=3, backoff_base_s=5.0, backoff_cap_s=120.0)
def reembed_job(ctx: JobContext, params: ReembedParams) -> dict[str, Any]:
    """Re-embeds a collection with the configured embedder and swaps the vectors in at once."""
    engine = ctx.platform.engine
    with ctx.platform.unit_of_work() as session:
        collection = session.get(Collection, params.collection_id)
        if collection is None:
            raise PermanentJobError(f"collection {params.collection_id} no longer exists")
        name = collection.name
        source = (collection.embedding_model, collection.embedding_dim)
        earlier = _earlier_job(session, ctx.job_id, params.collection_id)
    if earlier is not None:
        raise PermanentJobError(
            f"collection {name!r} is already being re-embedded by job {earlier}; this one stops"
        )
    runtime = ctx.get(KnowledgeRuntime)
    embedder = runtime.embedder  # EmbedderError: retried (the model server may come back)
    target = (embedder.name, embedder.dim)
    if params.target_model is not None and target != (params.target_model, params.target_dim):
        raise PermanentJobError(
            f"this worker embeds with {target[0]} ({target[1]} dimensions) but the re-embed was "
            f"requested for {params.target_model} ({params.target_dim} dimensions): configure "
            "the API and the workers with the same AIHARNESS_KNOWLEDGE__EMBEDDER__* settings"
        )
    store = runtime.writer_store()
    migration = Reembedding(
        ctx=ctx,
        engine=engine,
        store=store,
        embedder=embedder,
        collection_id=params.collection_id,
        name=name,
        source=source,
    )
    if source == target and not params.force:
        # Nothing to do, e.g. a retry after the swap committed: finish what follows the swap.
        store.discard_staged_vectors(collection_id=params.collection_id)
        store.rebuild_vector_index(params.collection_id)
        ctx.log(f"collection {name!r} already uses {target[0]}; nothing to re-embed")
        migration.total = migration.counts()[0]
        return migration.summary(rounds=0)
    try:
        return migration.run()
    except JobLost:
        raise  # another worker runs it now: its staged vectors are that worker's to use
    except (JobCancelled, PermanentJobError):
        migration.discard()
        raise
    except Exception:
        if ctx.attempt >= ctx.claim.max_attempts:
            migration.discard()
        raise


def _earlier_job(session: Session, job_id: str, collection_id: int) -> str | None:
    """An unfinished re-embed of the same collection submitted before this job, if any."""
    me = session.get(Job, job_id)
    if me is None:
        return None
    for job in session.scalars(
        select(Job).where(Job.type == JOB_TYPE, Job.status.in_(ACTIVE_STATUSES), Job.id != job_id)
    ):
        if (job.params or {}).get("collection_id") == collection_id and (
            job.created_at,
            job.id,
        ) < (me.created_at, me.id):
            return job.id
    return None


@dataclass
class Reembedding:
    """One attempt: stage what is missing, swap, repeat while documents keep arriving."""

    ctx: JobContext
    engine: Engine
    store: KnowledgeStore
    embedder: Embedder
    collection_id: int
    name: str
    source: tuple[str, int]
    total: int = 0
    resumed: int = 0
    embedded: int = 0
    embed_s: float = 0.0
    started: float = 0.0

    @property
    def target(self) -> tuple[str, int]:
        return self.embedder.name, self.embedder.dim

    def run(self) -> dict[str, Any]:
        self.started = time.perf_counter()
        model, dim = self.target
        # Staged vectors belong to one job: a retry resumes from its own earlier attempts, a
        # new job starts afresh (leftovers of another job may come from other model weights).
        keep = self.target if self.ctx.attempt > 1 else None
        self.store.discard_staged_vectors(collection_id=self.collection_id, keep=keep)
        self.total, missing = self.counts()
        self.resumed = self.total - missing
        self.ctx.log(
            f"re-embedding {self.name!r}: {self.source[0]} ({self.source[1]} dims) -> {model} "
            f"({dim} dims), {self.total} passages"
            + (f", {self.resumed} already staged by an earlier attempt" if self.resumed else "")
        )
        swapped = False
        rounds = 0
        try:
            for rounds in range(1, MAX_SWAP_ROUNDS + 1):  # noqa: B007 (reported below)
                self._stage_missing()
                missing = self.store.swap_staged_vectors(
                    collection_id=self.collection_id, model=model, dim=dim
                )
                if missing == 0:
                    swapped = True
                    break
                self.total = self.counts()[0]
                self.ctx.log(f"{missing} passage(s) arrived while embedding; embedding them too")
        finally:
            if not swapped:
                # PostgreSQL: the swap dropped the graph; put back the one for today's vectors.
                with contextlib.suppress(Exception):
                    self.store.rebuild_vector_index(self.collection_id)
        if not swapped:
            raise RuntimeError(
                f"collection {self.name!r} kept changing while it was re-embedded "
                f"({MAX_SWAP_ROUNDS} tries); it stays on {self.source[0]}"
            )
        self.store.rebuild_vector_index(self.collection_id)
        summary = self.summary(rounds=rounds)
        self.ctx.log(
            f"collection {self.name!r} now uses {model}: {self.total} passages, "
            f"{self.embedded} embedded in {summary['wall_s']}s ({summary['embed_s']}s embedding)"
        )
        return summary

    def counts(self) -> tuple[int, int]:
        """(passages in the collection, passages without a staged vector of the target)."""
        model, dim = self.target
        with self.engine.connect() as conn:
            total = staging.count_chunks(conn, collection_id=self.collection_id)
            missing = staging.count_unstaged(
                conn, collection_id=self.collection_id, model=model, dim=dim
            )
        return total, missing

    def _stage_missing(self) -> None:
        model, dim = self.target
        batch = max(1, min(EMBED_BATCH, self.embedder.max_batch))
        with self.engine.connect() as conn:
            missing = staging.unstaged_chunk_ids(
                conn, collection_id=self.collection_id, model=model, dim=dim
            )
        for first in range(0, len(missing), STAGE_PAGE):
            with self.engine.connect() as conn:
                # Deleted meanwhile: skipped here (and no longer counted by the swap).
                page = staging.chunk_texts(conn, missing[first : first + STAGE_PAGE])
            staged: list[tuple[int, np.ndarray]] = []
            for start in range(0, len(page), batch):
                part = page[start : start + batch]
                staged.extend(zip((cid for cid, _ in part), self._embed(part), strict=True))
                self._report(len(staged))
            self.store.stage_vectors(
                collection_id=self.collection_id, model=model, dim=dim, vectors=staged
            )
            self.embedded += len(staged)

    def _report(self, in_flight: int) -> None:
        done = self.resumed + self.embedded + in_flight
        self.total = max(self.total, done)
        self.ctx.progress(done, self.total, f"{done}/{self.total} passages")

    def _embed(self, part: Sequence[tuple[int, str]]) -> list[np.ndarray]:
        started = time.perf_counter()
        try:
            try:
                return list(self.embedder.embed_passages([t for _, t in part]))
            except EmbedderInputError:
                # Name the passage the model refuses; the collection stays on its old model.
                for chunk_id, text in part:
                    try:
                        self.embedder.embed_passages([text])
                    except EmbedderInputError as exc:
                        raise PermanentJobError(self._refusal(chunk_id, exc)) from None
                raise
        finally:
            self.embed_s += time.perf_counter() - started

    def _refusal(self, chunk_id: int, exc: Exception) -> str:
        hits = self.store.get_chunks([chunk_id])
        where = f"{hits[0].file_name} (passage {hits[0].index})" if hits else f"chunk {chunk_id}"
        return (
            f"{self.embedder.name} cannot embed {where}: {exc}; collection {self.name!r} "
            f"stays on {self.source[0]} (re-ingest it into a new collection with smaller chunks)"
        )

    def discard(self) -> None:
        try:
            self.store.discard_staged_vectors(collection_id=self.collection_id)
        except Exception:
            log.exception("could not discard staged vectors", collection_id=self.collection_id)

    def summary(self, *, rounds: int) -> dict[str, Any]:
        wall = time.perf_counter() - self.started if self.started else 0.0
        return {
            "collection": self.name,
            "from_model": self.source[0],
            "from_dim": self.source[1],
            "to_model": self.target[0],
            "to_dim": self.target[1],
            "chunks": self.total,
            "embedded": self.embedded,
            "resumed": self.resumed,
            "swap_rounds": rounds,
            "wall_s": round(wall, 3),
            "embed_s": round(self.embed_s, 3),
            "chunks_per_s": round(self.embedded / wall, 3) if wall > 0 else None,
        }
