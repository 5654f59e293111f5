"""Ingestion as a job: record, parse, chunk, embed in batches, one atomic write per document.

``submit_ingest`` records every file (deduplicating by content hash) and submits one
``knowledge.ingest`` job for the files that need work. The job runs a two-stage pipeline: a
thread parses, chunks and analyses the next documents while the embedder works on the current
batch (the model call releases the GIL), so the embedder, the slowest part, never waits.

A document belongs to the job whose token it carries; a newer submission of the same path takes
it over. Status writes are conditional on the content hash the job read, so a stale job never
overwrites a newer version. A retried job skips documents already ``ready``: no duplicates.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from aiharness.config import Settings
from aiharness.db.base import utcnow
from aiharness.db.engine import session_scope
from aiharness.errors import DomainError, Invalid, NotFound, TooLarge, Unsupported
from aiharness.jobs import service as jobs_service
from aiharness.jobs.context import JobContext
from aiharness.jobs.queue import QueueHub
from aiharness.jobs.registry import PermanentJobError, job_type
from aiharness.jobs.schemas import JobCreate
from aiharness.knowledge import reembed, service
from aiharness.knowledge.analysis import KeywordAnalyzer, get_analyzer
from aiharness.knowledge.chunking import ChunkingConfig, chunk_document, keyword_text
from aiharness.knowledge.documents import Chunk as TextChunk
from aiharness.knowledge.documents import ParseError
from aiharness.knowledge.embedders import Embedder, EmbedderError, EmbedderInputError
from aiharness.knowledge.models import Collection, Document
from aiharness.knowledge.parsers import ParseLimits, parse_file
from aiharness.knowledge.runtime import KnowledgeRuntime, parse_limits
from aiharness.knowledge.schemas import IngestResponse
from aiharness.knowledge.settings import KnowledgeSettings
from aiharness.knowledge.sources import SourceFile, hash_file
from aiharness.knowledge.stores.base import ChunkRecord, KnowledgeStore, StoreError
from aiharness.observability.logging import get_logger

log = get_logger("aiharness.knowledge.ingest")

JOB_TYPE = "knowledge.ingest"
EMBED_BATCH = 16  # chunks per embedder call: small enough for smooth progress, big enough to batch
LOOKAHEAD = 8  # parsed documents waiting for the embedder
MAX_DOCUMENTS_PER_JOB = 20_000


class IngestParams(BaseModel):
    collection_id: int = Field(ge=1)
    document_ids: list[int] = Field(min_length=1, max_length=MAX_DOCUMENTS_PER_JOB)
    token: str = Field(min_length=8, max_length=64, description="Marks the documents it owns.")


# -- submission ------------------------------------------------------------------------------
def submit_ingest(
    *,
    session: Session,
    queues: QueueHub,
    collection: Collection,
    sources: Sequence[SourceFile],
    skipped: Sequence[str] = (),
) -> IngestResponse:
    """Record each file and queue one job for those that need work; returns per-file outcomes."""
    reembed.refuse_while_reembedding(session, collection)
    token = uuid.uuid4().hex
    outcomes = [
        service.register_source(session=session, collection=collection, source=s, token=token)
        for s in sources
    ]
    queued = [o.document_id for o in outcomes if o.outcome == "queued" and o.document_id]
    job_ids: list[str] = []
    for start in range(0, len(queued), MAX_DOCUMENTS_PER_JOB):
        part = queued[start : start + MAX_DOCUMENTS_PER_JOB]
        job = jobs_service.submit_job(
            session=session,
            queues=queues,
            job_in=JobCreate(
                type=JOB_TYPE,
                params={"collection_id": collection.id, "document_ids": part, "token": token},
            ),
        )
        assert job is not None  # no dedupe key: never None
        service.set_job_id(session=session, document_ids=part, job_id=job.id)
        job_ids.append(job.id)
    return IngestResponse(
        collection=collection.name, job_ids=job_ids, documents=outcomes, skipped=list(skipped)
    )


# -- the job ---------------------------------------------------------------------------------
@dataclass
class _Task:
    document_id: int
    file_name: str
    path: Path | None
    content_hash: str
    had_chunks: bool


@dataclass
class _Prepared:
    task: _Task
    chunks: list[TextChunk]
    terms: list[list[str]]
    page_count: int | None
    vectors: list[Any] = field(default_factory=list)
    error: str | None = None


@dataclass
class IngestSummary:
    documents: int = 0
    ready: int = 0
    failed: int = 0
    superseded: int = 0
    chunks: int = 0
    wall_s: float = 0.0
    embed_s: float = 0.0
    errors: dict[int, str] = field(default_factory=dict)

    def as_result(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "ready": self.ready,
            "failed": self.failed,
            "superseded": self.superseded,
            "chunks": self.chunks,
            "wall_s": round(self.wall_s, 3),
            "embed_s": round(self.embed_s, 3),
            "chunks_per_s": round(self.chunks / self.wall_s, 3) if self.wall_s > 0 else None,
        }


_DONE = object()


@job_type(JOB_TYPE, params=IngestParams, max_attempts=3, backoff_base_s=2.0)
def ingest_job(ctx: JobContext, params: IngestParams) -> dict[str, Any]:
    """Indexes documents: parse, chunk, embed, store; each document ends ready or failed."""
    runtime = ctx.get(KnowledgeRuntime)
    with ctx.platform.unit_of_work() as session:
        collection = session.get(Collection, params.collection_id)
        if collection is None:
            raise PermanentJobError(f"collection {params.collection_id} no longer exists")
        tasks = _load_tasks(session, params)
        model, dim, analyzer_name = (
            collection.embedding_model,
            collection.embedding_dim,
            collection.analyzer,
        )
        chunking = ChunkingConfig(**(collection.chunking or {}))
    last_attempt = ctx.attempt >= ctx.claim.max_attempts
    if not tasks:
        return IngestSummary().as_result()
    try:
        embedder = runtime.embedder
    except EmbedderError as exc:
        if last_attempt:
            _fail_all(ctx.session_factory, tasks, f"the embedding model is unavailable: {exc}")
        raise
    if embedder.name != model or embedder.dim != dim:
        message = mismatch_message(collection_model=model, dim=dim, embedder=embedder)
        with ctx.platform.unit_of_work() as session:
            moving = reembed.active_reembeds(session, [params.collection_id])
        if params.collection_id in moving:
            message = (
                f"the collection is being re-embedded with {embedder.name} (job "
                f"{moving[params.collection_id].id}); add this document again once that job "
                "has finished"
            )
        _fail_all(ctx.session_factory, tasks, message)
        ctx.log(message)
        raise PermanentJobError(message)
    pipeline = IngestPipeline(
        session_factory=ctx.session_factory,
        store=runtime.writer_store(),
        embedder=embedder,
        analyzer=get_analyzer(analyzer_name),
        chunking=chunking,
        limits=parse_limits(runtime.section),
        progress=ctx.progress,
        log=ctx.log,
    )
    try:
        summary = pipeline.run(tasks)
    except EmbedderError as exc:
        if last_attempt:
            _fail_all(
                ctx.session_factory,
                pipeline.unfinished(tasks),
                f"the embedding model failed: {exc}",
            )
        raise
    except BaseException:
        # Cancelled or lost: what is not indexed yet says so (its old chunks stay searchable).
        _fail_all(ctx.session_factory, pipeline.unfinished(tasks), "ingestion was stopped")
        raise
    ctx.log(
        f"{summary.ready} ready, {summary.failed} failed, {summary.chunks} chunks "
        f"in {summary.wall_s:.1f}s ({summary.embed_s:.1f}s embedding)"
    )
    return settle_job(ctx, summary)


def settle_job(ctx: JobContext, summary: IngestSummary) -> dict[str, Any]:
    """A job none of whose documents could be indexed fails; a partly failed one says so."""
    attempted = summary.documents - summary.superseded
    if attempted > 0 and summary.failed == attempted:
        first = next(iter(summary.errors.values()), "see the documents' errors")
        noun = "document" if attempted == 1 else "documents"
        raise PermanentJobError(f"all {attempted} {noun} failed: {first}")
    if summary.failed:
        ctx.outcome_note = f"{summary.failed} of {attempted} documents failed"
    return summary.as_result()


def mismatch_message(*, collection_model: str, dim: int, embedder: Embedder) -> str:
    return (
        f"this collection was embedded with {collection_model} ({dim} dimensions) but the "
        f"platform is configured with {embedder.name} ({embedder.dim} dimensions); set "
        "AIHARNESS_KNOWLEDGE__EMBEDDER__KIND/__MODEL back, or re-embed the collection "
        "with the new model (`aiharness collections reembed NAME`) and add the file again"
    )


def _load_tasks(session: Session, params: IngestParams) -> list[_Task]:
    docs = {
        d.id: d
        for d in session.scalars(select(Document).where(Document.id.in_(params.document_ids)))
    }
    tasks = []
    for document_id in params.document_ids:
        doc = docs.get(document_id)
        if doc is None or doc.status == "ready":
            continue  # deleted meanwhile, or finished by an earlier attempt of this job
        meta = doc.meta or {}
        if meta.get("ingest_token") != params.token:
            continue  # a newer submission owns it now
        stored = meta.get("stored_path")
        tasks.append(
            _Task(
                document_id=doc.id,
                file_name=doc.file_name,
                path=Path(stored) if stored else None,
                content_hash=doc.content_hash,
                had_chunks=doc.chunk_count > 0,
            )
        )
    return tasks


def _set_status(
    session_factory: sessionmaker[Session], task: _Task, status: str, **values: Any
) -> bool:
    """Update the document only if it still holds the content this job read."""
    with session_scope(session_factory) as session:
        result = session.execute(
            update(Document)
            .where(Document.id == task.document_id, Document.content_hash == task.content_hash)
            .values(status=status, updated_at=utcnow(), **values)
        )
        return bool(getattr(result, "rowcount", 0))


def _failure_text(task: _Task, error: str) -> str:
    if task.had_chunks:
        return f"{error} (the previously indexed version stays searchable)"
    return error


def _fail_all(session_factory: sessionmaker[Session], tasks: Sequence[_Task], error: str) -> None:
    for task in tasks:
        try:
            _set_status(session_factory, task, "failed", error=_failure_text(task, error))
        except Exception:
            log.exception("could not mark a document failed", document_id=task.document_id)


class IngestPipeline:
    """Parse/chunk/analyse in a thread, embed and write in the caller's thread."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        store: KnowledgeStore,
        embedder: Embedder,
        analyzer: KeywordAnalyzer,
        chunking: ChunkingConfig,
        limits: ParseLimits,
        progress: Callable[[int, int | None, str | None], None] | None = None,
        log: Callable[[str], None] | None = None,
        embed_batch: int = EMBED_BATCH,
        lookahead: int = LOOKAHEAD,
    ) -> None:
        self.session_factory = session_factory
        self.store = store
        self.embedder = embedder
        self.analyzer = analyzer
        self.chunking = chunking
        self.limits = limits
        self._progress = progress
        self._log = log or (lambda _line: None)
        self.embed_batch = max(1, min(embed_batch, embedder.max_batch))
        self.lookahead = lookahead
        self._finished: set[int] = set()
        self._stop = threading.Event()

    def unfinished(self, tasks: Sequence[_Task]) -> list[_Task]:
        return [t for t in tasks if t.document_id not in self._finished]

    # -- stage 1: parse, chunk, analyse (background thread) --
    def _prepare(self, task: _Task) -> _Prepared:
        if task.path is None or not task.path.is_file():
            raise ParseError(f"{task.file_name}: the stored file is missing; upload it again")
        content_hash, _size = hash_file(task.path)
        if content_hash != task.content_hash:
            # The server file changed since it was submitted: index what is there now.
            with session_scope(self.session_factory) as session:
                session.execute(
                    update(Document)
                    .where(
                        Document.id == task.document_id,
                        Document.content_hash == task.content_hash,
                    )
                    .values(content_hash=content_hash)
                )
            task.content_hash = content_hash
        parsed = parse_file(task.path, file_name=task.file_name, limits=self.limits)
        chunks = chunk_document(parsed, self.chunking)
        if not chunks:
            raise ParseError(f"{task.file_name} contains no text to index.")
        # Keywords include the heading path, so titles and headings count for every chunk.
        terms = self.analyzer.terms_batch([keyword_text(c) for c in chunks])
        return _Prepared(task=task, chunks=chunks, terms=terms, page_count=parsed.page_count)

    def _produce(self, tasks: Sequence[_Task], out: queue.Queue[object]) -> None:
        try:
            for task in tasks:
                if self._stop.is_set():
                    break
                if not _set_status(self.session_factory, task, "parsing", error=None):
                    out.put(("superseded", task))
                    continue
                try:
                    item: object = self._prepare(task)
                except ParseError as exc:
                    item = ("failed", task, str(exc))
                except Exception as exc:  # one bad file must not stop the others
                    log.exception("document could not be prepared", document_id=task.document_id)
                    item = (
                        "failed",
                        task,
                        f"{task.file_name} could not be processed ({type(exc).__name__}: {exc})",
                    )
                out.put(item)
        finally:
            out.put(_DONE)

    # -- stage 2: embed in batches, write each document atomically (caller's thread) --
    def run(self, tasks: Sequence[_Task]) -> IngestSummary:
        summary = IngestSummary(documents=len(tasks))
        started = time.perf_counter()
        handoff: queue.Queue[object] = queue.Queue(maxsize=self.lookahead)
        producer = threading.Thread(
            target=self._produce, args=(tasks, handoff), name="ingest-prepare", daemon=True
        )
        producer.start()
        waiting: list[_Prepared] = []  # parsed documents whose vectors are not all computed
        batch: list[tuple[_Prepared, int]] = []
        total_chunks = 0
        try:
            while True:
                item = handoff.get()
                if item is _DONE:
                    break
                if isinstance(item, tuple):
                    self._settle(summary, item)
                    continue
                assert isinstance(item, _Prepared)
                if not _set_status(self.session_factory, item.task, "embedding"):
                    self._settle(summary, ("superseded", item.task))
                    continue
                total_chunks += len(item.chunks)
                item.vectors = [None] * len(item.chunks)
                waiting.append(item)
                for i in range(len(item.chunks)):
                    batch.append((item, i))
                    if len(batch) >= self.embed_batch:
                        self._embed(batch, summary)
                        batch = []
                        waiting = self._write_complete(waiting, summary)
                        self._report(summary, total_chunks)
                if batch and handoff.empty():
                    # Nothing parsed is waiting: embed what we have rather than idle.
                    self._embed(batch, summary)
                    batch = []
                    waiting = self._write_complete(waiting, summary)
                    self._report(summary, total_chunks)
            if batch:
                self._embed(batch, summary)
            self._write_complete(waiting, summary)
            self._report(summary, total_chunks)
        finally:
            self._stop.set()
            while producer.is_alive():
                with contextlib.suppress(queue.Empty):  # unblock a producer on a full queue
                    handoff.get(timeout=0.1)
            producer.join()
        summary.wall_s = time.perf_counter() - started
        return summary

    def _report(self, summary: IngestSummary, total_chunks: int) -> None:
        if self._progress is not None:
            settled = summary.ready + summary.failed + summary.superseded
            failed = f", {summary.failed} failed" if summary.failed else ""
            self._progress(
                summary.chunks,
                total_chunks,
                f"{settled}/{summary.documents} documents{failed}",
            )

    def _embed(self, batch: list[tuple[_Prepared, int]], summary: IngestSummary) -> None:
        live = [(p, i) for p, i in batch if p.error is None]
        if not live:
            return
        texts = [p.chunks[i].text for p, i in live]
        started = time.perf_counter()
        try:
            vectors = self.embedder.embed_passages(texts)
        except EmbedderInputError:
            vectors = None
        summary.embed_s += time.perf_counter() - started
        if vectors is not None:
            for (p, i), vector in zip(live, vectors, strict=True):
                p.vectors[i] = vector
            return
        # Find the document whose text the model refused; the others go on.
        for p, i in live:
            started = time.perf_counter()
            try:
                p.vectors[i] = self.embedder.embed_passages([p.chunks[i].text])[0]
            except EmbedderInputError as exc:
                p.error = f"{p.task.file_name}: a passage cannot be embedded ({exc})"
            summary.embed_s += time.perf_counter() - started

    def _write_complete(self, waiting: list[_Prepared], summary: IngestSummary) -> list[_Prepared]:
        still: list[_Prepared] = []
        for prepared in waiting:
            if prepared.error is not None:
                self._settle(summary, ("failed", prepared.task, prepared.error))
            elif all(v is not None for v in prepared.vectors):
                self._write(prepared, summary)
            else:
                still.append(prepared)
        return still

    def _write(self, prepared: _Prepared, summary: IngestSummary) -> None:
        task = prepared.task
        records = [
            ChunkRecord(
                index=chunk.index,
                text=chunk.text,
                terms=terms,
                vector=vector,
                token_count=chunk.token_count,
                page=chunk.page,
                heading=chunk.heading,
                metadata=chunk.metadata,
            )
            for chunk, terms, vector in zip(
                prepared.chunks, prepared.terms, prepared.vectors, strict=True
            )
        ]
        with session_scope(self.session_factory) as session:
            current = session.get(Document, task.document_id)
            owned = current is not None and current.content_hash == task.content_hash
        if not owned:
            self._settle(summary, ("superseded", task))
            return
        try:
            self.store.replace_document_chunks(document_id=task.document_id, chunks=records)
        except StoreError as exc:
            self._settle(summary, ("failed", task, f"{task.file_name} could not be stored: {exc}"))
            return
        _set_status(
            self.session_factory,
            task,
            "ready",
            error=None,
            page_count=prepared.page_count,
            indexed_at=utcnow(),
        )
        summary.chunks += len(records)
        summary.ready += 1
        self._finished.add(task.document_id)

    def _settle(self, summary: IngestSummary, item: tuple[Any, ...]) -> None:
        kind, task = item[0], item[1]
        self._finished.add(task.document_id)
        if kind == "superseded":
            summary.superseded += 1
            return
        error = item[2]
        summary.failed += 1
        summary.errors[task.document_id] = error
        self._log(error)
        log.warning(
            "document failed", document_id=task.document_id, file_name=task.file_name, error=error
        )
        _set_status(self.session_factory, task, "failed", error=_failure_text(task, error))


# -- the demo ----------------------------------------------------------------------------------
DEMO_COLLECTION = "demo"
DEMO_MARKER = ".demo-queued"


def should_queue_demo(section: KnowledgeSettings, *, worker_enabled: bool) -> bool:
    if section.demo_ingest == "off":
        return False
    if section.demo_ingest == "auto" and not worker_enabled:
        return False
    return section.resolved_demo_docs_dir.is_dir()


def queue_demo_ingest(
    *,
    runtime: KnowledgeRuntime,
    session_factory: sessionmaker[Session],
    queues: QueueHub,
    worker_enabled: bool,
) -> IngestResponse | None:
    """On a fresh data dir, queue the sample documents into ``demo`` (once: a marker remembers)."""
    section = runtime.section
    marker = runtime.settings.data_dir / DEMO_MARKER
    if marker.exists() or not should_queue_demo(section, worker_enabled=worker_enabled):
        return None
    from aiharness.knowledge.parsers import supported_extensions
    from aiharness.knowledge.schemas import CollectionCreate
    from aiharness.knowledge.sources import path_sources

    with session_scope(session_factory) as session:
        if session.scalars(select(Collection.id).limit(1)).first() is not None:
            marker.write_text("existing collections; demo not queued\n")
            return None
        runtime.create_collection(
            session=session,
            collection_in=CollectionCreate(
                name=DEMO_COLLECTION, description="Sample maintenance manuals and procedures"
            ),
        )
        collection = service.get_collection(session=session, name=DEMO_COLLECTION)
        sources, skipped = path_sources(
            path=section.resolved_demo_docs_dir,
            supported=supported_extensions(),
            source_kind="path",
        )
        response = submit_ingest(
            session=session, queues=queues, collection=collection, sources=sources, skipped=skipped
        )
    marker.write_text(f"demo ingest queued: jobs {', '.join(response.job_ids)}\n")
    log.info("demo ingest queued", documents=len(sources), jobs=response.job_ids)
    return response


# -- entry points used by the API, the UI and the CLI -------------------------------------------
def ingest_uploads(
    *,
    session: Session,
    queues: QueueHub,
    settings: Settings,
    collection_name: str,
    files: Sequence[tuple[str | None, Any]],
) -> IngestResponse:
    """Save uploaded streams (``(name, binary file)`` pairs) and queue their ingestion."""
    from aiharness.knowledge.sources import save_upload

    collection = service.get_collection(session=session, name=collection_name)
    reembed.refuse_while_reembedding(session, collection)  # before saving the files
    sources = [
        save_upload(settings=settings, stream=stream, raw_name=name) for name, stream in files
    ]
    refused = [s for s in sources if s.error is not None]
    if sources and len(refused) == len(sources):
        raise _refusal(refused)
    return submit_ingest(session=session, queues=queues, collection=collection, sources=sources)


def _refusal(refused: Sequence[SourceFile]) -> DomainError:
    """Nothing of the upload can be used: the first file's reason, every file's outcome."""
    kinds: dict[str | None, type[DomainError]] = {
        "too_large": TooLarge,
        "unsupported": Unsupported,
    }
    details = [
        {"file_name": s.file_name, "reason": s.error_kind, "error": s.error} for s in refused
    ]
    error_type = kinds.get(refused[0].error_kind, Invalid)
    message = refused[0].error or "the upload was refused"
    if len(refused) > 1:
        message += f" (and {len(refused) - 1} more file(s) refused)"
    return error_type(message, code="upload_refused", details=details)


def ingest_path(
    *,
    session: Session,
    queues: QueueHub,
    runtime: KnowledgeRuntime,
    raw_path: str,
    collection_name: str,
    recursive: bool = True,
    create_collection: bool = True,
    check_roots: bool = True,
) -> IngestResponse:
    """Queue a server file or folder; with ``check_roots`` it must lie inside the allowed roots.

    The CLI working on its own data dir passes ``check_roots=False``: its user already reads
    the files directly.
    """
    from aiharness.knowledge.parsers import supported_extensions
    from aiharness.knowledge.sources import ingest_roots, path_sources, resolve_server_path

    settings = runtime.settings
    if check_roots:
        path = resolve_server_path(settings=settings, raw=raw_path)
        roots: list[Path] | None = ingest_roots(settings)
    else:
        try:
            path = Path(raw_path).expanduser().resolve(strict=True)
        except (OSError, RuntimeError):
            raise NotFound(f"{raw_path} does not exist") from None
        roots = None
    collection = ensure_collection(
        session=session, runtime=runtime, name=collection_name, create=create_collection
    )
    inbound = (settings.data_dir / "inbound").resolve()
    kind = "inbound" if path.is_relative_to(inbound) else "path"
    sources, skipped = path_sources(
        path=path,
        supported=supported_extensions(),
        recursive=recursive,
        roots=roots,
        source_kind=kind,
    )
    return submit_ingest(
        session=session, queues=queues, collection=collection, sources=sources, skipped=skipped
    )


def ensure_collection(
    *, session: Session, runtime: KnowledgeRuntime, name: str, create: bool = True
) -> Collection:
    """The named collection, created with the configured embedder when missing and allowed."""
    from pydantic import ValidationError

    from aiharness.knowledge.schemas import CollectionCreate

    found = service.find_collection(session=session, name=name)
    if found is not None or not create:
        return found or service.get_collection(session=session, name=name)
    try:
        collection_in = CollectionCreate(name=name)
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"]
        raise Invalid(
            f"invalid collection name {name!r}: {reason}", code="validation_error"
        ) from None
    with contextlib.suppress(service.CollectionExistsError):  # created concurrently: fine
        runtime.create_collection(session=session, collection_in=collection_in)
    return service.get_collection(session=session, name=name)
