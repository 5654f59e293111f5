"""``aiharness ingest``, ``aiharness search`` and ``aiharness collections ...``.

With ``--url`` (or ``AIHARNESS_URL``) the commands talk to a running platform through its API
(files are uploaded). Without it they work directly on the data dir; ``ingest`` then runs the
ingest job itself unless a live worker is there to take it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Annotated, Any, Protocol, TypeVar

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from aiharness.cli.common import console, fail, settings_or_exit
from aiharness.config import ConfigError, Settings
from aiharness.errors import APIError
from aiharness.knowledge import ingest as ingest_module  # registers the ingest job type
from aiharness.knowledge import reembed as reembed_module  # registers the re-embed job type
from aiharness.knowledge.schemas import (
    SEARCH_MODES,
    CollectionPublic,
    DocumentPublic,
    IngestResponse,
    ReembedResponse,
    SearchHit,
)

collections_app = typer.Typer(
    help="Knowledge collections: list, create, show, re-embed, delete.", no_args_is_help=True
)
T = TypeVar("T")
URL_HELP = "Platform URL to work through (AIHARNESS_URL); empty: work on the data dir directly."
UPLOAD_BATCH = 20
TERMINAL_DOC = frozenset({"ready", "failed"})


class JobState(Protocol):
    status: str
    done: int
    total: int | None


# -- backends ---------------------------------------------------------------------------------
class Backend(Protocol):
    def list_collections(self) -> list[CollectionPublic]: ...

    def create_collection(self, body: dict[str, Any]) -> CollectionPublic: ...

    def show_collection(self, name: str) -> CollectionPublic: ...

    def delete_collection(self, name: str) -> None: ...

    def reembed(self, name: str, *, force: bool) -> ReembedResponse: ...

    def ingest(self, paths: Sequence[Path], collection: str) -> list[IngestResponse]: ...

    def documents(self, ids: Sequence[int]) -> list[DocumentPublic]: ...

    def jobs(self, ids: Sequence[str]) -> list[dict[str, Any]]: ...

    def search(
        self, query: str, *, collection: str | None, k: int, mode: str
    ) -> list[SearchHit]: ...

    def run_jobs(
        self, ids: Sequence[str], *, follow_retries: bool = False
    ) -> Callable[[], None] | None:
        """Start running the jobs here if nobody else will; returns a stop/join function.

        ``follow_retries``: run a failed attempt again when its retry is due, until the job ends.
        """

    def close(self) -> None: ...


class RemoteBackend:
    """Talks to a running platform's API."""

    def __init__(self, url: str) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.client = httpx.Client(base_url=self.url, timeout=httpx.Timeout(60.0, connect=5.0))

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            fail(f"cannot reach the platform at {self.url}: {exc}", code=2)
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:300] or response.reason_phrase
            fail(f"{message} (HTTP {response.status_code})")
        return response.json() if response.content else None

    def list_collections(self) -> list[CollectionPublic]:
        return [CollectionPublic(**c) for c in self._call("GET", "/api/collections")]

    def create_collection(self, body: dict[str, Any]) -> CollectionPublic:
        return CollectionPublic(**self._call("POST", "/api/collections", json=body))

    def show_collection(self, name: str) -> CollectionPublic:
        return CollectionPublic(**self._call("GET", f"/api/collections/{name}"))

    def delete_collection(self, name: str) -> None:
        self._call("DELETE", f"/api/collections/{name}")

    def reembed(self, name: str, *, force: bool) -> ReembedResponse:
        data = self._call("POST", f"/api/collections/{name}/reembed", json={"force": force})
        return ReembedResponse(**data)

    def ingest(self, paths: Sequence[Path], collection: str) -> list[IngestResponse]:
        from aiharness.knowledge.parsers import supported_extensions
        from aiharness.knowledge.sources import path_sources

        names = {c.name for c in self.list_collections()}
        if collection not in names:
            self.create_collection({"name": collection})
        files: list[Path] = []
        skipped: list[str] = []
        for path in paths:
            found, left_out = path_sources(
                path=path, supported=supported_extensions(), source_kind="upload"
            )
            files.extend(f.stored_path for f in found if f.stored_path is not None)
            skipped.extend(left_out)
        responses = []
        for start in range(0, len(files), UPLOAD_BATCH):
            batch = files[start : start + UPLOAD_BATCH]
            with ExitStack() as stack:
                parts = [("files", (p.name, stack.enter_context(p.open("rb")))) for p in batch]
                data = self._call("POST", f"/api/collections/{collection}/documents", files=parts)
            responses.append(IngestResponse(**data))
        if responses:
            responses[0].skipped.extend(skipped)
        else:
            responses.append(
                IngestResponse(collection=collection, job_ids=[], documents=[], skipped=skipped)
            )
        return responses

    def documents(self, ids: Sequence[int]) -> list[DocumentPublic]:
        return [DocumentPublic(**self._call("GET", f"/api/documents/{i}")) for i in ids]

    def jobs(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        return [self._call("GET", f"/api/jobs/{i}") for i in ids]

    def search(self, query: str, *, collection: str | None, k: int, mode: str) -> list[SearchHit]:
        params: dict[str, Any] = {"q": query, "k": k, "mode": mode}
        if collection:
            params["collection"] = collection
        return [SearchHit(**h) for h in self._call("GET", "/api/rag/search", params=params)]

    def run_jobs(
        self, ids: Sequence[str], *, follow_retries: bool = False
    ) -> Callable[[], None] | None:
        return None  # the platform's workers run them

    def close(self) -> None:
        self.client.close()


class LocalBackend:
    """Works on the configured database and data dir directly."""

    def __init__(self, settings: Settings) -> None:
        from aiharness.db import migrate
        from aiharness.db.engine import create_db_engine, create_session_factory
        from aiharness.jobs.queue import QueueHub
        from aiharness.platform import ensure_data_dir

        self.settings = settings
        ensure_data_dir(settings)
        self.engine = create_db_engine(settings.resolved_database_url)
        if settings.auto_migrate:
            migrate.upgrade(self.engine)
        else:
            state = migrate.revision_state(self.engine)
            if not state.at_head:
                raise ConfigError("the database is not migrated; run `aiharness db upgrade`")
        self.session_factory = create_session_factory(self.engine)
        self.queues = QueueHub(settings.resolved_queue_url)
        self._runtime: Any = None

    @property
    def runtime(self) -> Any:
        from aiharness.knowledge.runtime import KnowledgeRuntime

        if self._runtime is None:
            self._runtime = KnowledgeRuntime(settings=self.settings, engine=self.engine)
        return self._runtime

    @contextmanager
    def _session(self) -> Iterator[Any]:
        from aiharness.db.engine import session_scope

        with session_scope(self.session_factory) as session:
            yield session

    def list_collections(self) -> list[CollectionPublic]:
        from aiharness.knowledge import service

        with self._session() as session:
            return service.list_collections(session=session)

    def create_collection(self, body: dict[str, Any]) -> CollectionPublic:
        from pydantic import ValidationError

        from aiharness.knowledge import service
        from aiharness.knowledge.schemas import CollectionCreate

        try:
            collection_in = CollectionCreate(**body)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            fail(f"invalid {where}: {err['msg']}")
        model, dim = self.runtime.identity()
        with self._session() as session:
            return service.create_collection(
                session=session,
                collection_in=collection_in,
                settings=self.settings,
                model=model,
                dim=dim,
            )

    def show_collection(self, name: str) -> CollectionPublic:
        from aiharness.knowledge import service

        with self._session() as session:
            return service.show_collection(session=session, name=name)

    def delete_collection(self, name: str) -> None:
        from aiharness.knowledge import service

        with self._session() as session:
            service.delete_collection(
                session=session,
                store=self.runtime.writer_store(),
                name=name,
                settings=self.settings,
            )

    def reembed(self, name: str, *, force: bool) -> ReembedResponse:
        with self._session() as session:
            return reembed_module.submit_reembed(
                session=session,
                queues=self.queues,
                collection_name=name,
                identity=self.runtime.identity,
                force=force,
            )

    def ingest(self, paths: Sequence[Path], collection: str) -> list[IngestResponse]:
        responses = []
        for path in paths:
            with self._session() as session:
                responses.append(
                    ingest_module.ingest_path(
                        session=session,
                        queues=self.queues,
                        settings=self.settings,
                        raw_path=str(path),
                        collection_name=collection,
                        check_roots=False,
                        identity=self.runtime.identity,
                    )
                )
        return responses

    def documents(self, ids: Sequence[int]) -> list[DocumentPublic]:
        from aiharness.knowledge import service

        with self._session() as session:
            return service.list_documents(session=session, ids=ids, limit=max(len(ids), 1)).items

    def jobs(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        from aiharness.jobs import service as jobs_service

        with self._session() as session:
            return [
                jobs_service.get_job(session=session, job_id=i).model_dump(mode="json") for i in ids
            ]

    def search(self, query: str, *, collection: str | None, k: int, mode: str) -> list[SearchHit]:
        with self._session() as session:
            hits: list[SearchHit] = self.runtime.search(
                session=session, query=query, k=k, mode=mode, collection=collection
            )
            return hits

    def _live_workers(self) -> int:
        from aiharness.jobs import service as jobs_service

        with self._session() as session:
            return jobs_service.list_workers(
                session=session,
                heartbeat_timeout_s=self.settings.heartbeat_timeout_s,
                include_stopped=False,
            ).live

    def run_jobs(
        self, ids: Sequence[str], *, follow_retries: bool = False
    ) -> Callable[[], None] | None:
        """No live worker: run the jobs in this process as a short-lived worker of its own."""
        if not ids or self._live_workers():
            return None
        worker = InlineWorker(self.settings, self.session_factory, self.queues)
        return worker.start(ids, follow_retries=follow_retries)

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()
        self.queues.close()
        self.engine.dispose()


class InlineWorker:
    """Runs given job ids through the jobs system's own runner (claim, progress, finish) and
    heartbeats like a worker so that sweeps elsewhere do not take its jobs for orphans."""

    def __init__(self, settings: Settings, session_factory: Any, queues: Any) -> None:
        from aiharness.jobs.worker import make_worker_id

        self.settings = settings
        self.session_factory = session_factory
        self.queues = queues
        self.worker_id = make_worker_id()
        self._stop = threading.Event()

    def start(self, ids: Sequence[str], *, follow_retries: bool = False) -> Callable[[], None]:
        from aiharness import __version__
        from aiharness.db.base import utcnow
        from aiharness.db.engine import session_scope
        from aiharness.jobs import lifecycle
        from aiharness.jobs.registry import load_job_modules
        from aiharness.jobs.worker import JobRunner

        registry = load_job_modules(self.settings.job_modules)
        runner = JobRunner(
            settings=self.settings,
            session_factory=self.session_factory,
            queues=self.queues,
            registry=registry,
            worker_id=self.worker_id,
        )
        started_at = utcnow()

        def beat() -> None:
            with session_scope(self.session_factory) as session:
                lifecycle.heartbeat(
                    session=session,
                    worker_id=self.worker_id,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    queue="cli",
                    concurrency=1,
                    version=__version__,
                    current_jobs=sorted(runner.current),
                    jobs_succeeded=runner.succeeded,
                    jobs_failed=runner.failed,
                    started_at=started_at,
                )

        def heartbeats() -> None:
            while not self._stop.wait(self.settings.heartbeat_interval_s):
                with contextlib.suppress(Exception):  # a missed beat is not fatal
                    beat()

        def work() -> None:
            for job_id in ids:
                while not self._stop.is_set():
                    runner(job_id)
                    wait_s = self._retry_due_in(job_id) if follow_retries else None
                    if wait_s is None:
                        break
                    self._stop.wait(wait_s)

        beat()
        pulse = threading.Thread(target=heartbeats, name="cli-heartbeat", daemon=True)
        pulse.start()
        worker = threading.Thread(target=work, name="cli-ingest", daemon=True)
        worker.start()

        def finish() -> None:
            worker.join()
            self._stop.set()
            pulse.join(timeout=2)
            with session_scope(self.session_factory) as session:
                lifecycle.mark_stopped(session=session, worker_id=self.worker_id)

        return finish

    def _retry_due_in(self, job_id: str) -> float | None:
        """Seconds until the job's next attempt is due; None unless it waits for a retry."""
        from aiharness.db.base import utcnow
        from aiharness.db.engine import session_scope
        from aiharness.jobs.models import Job

        with session_scope(self.session_factory) as session:
            job = session.get(Job, job_id)
            if job is None or job.status != "retrying":
                return None
            due = job.run_at or utcnow()
        return max(0.0, (due - utcnow()).total_seconds())


@contextmanager
def backend_for(url: str | None) -> Iterator[Backend]:
    backend: Backend
    if url:
        backend = RemoteBackend(url)
    else:
        settings = settings_or_exit()
        try:
            backend = LocalBackend(settings)
        except ConfigError as exc:
            fail(str(exc), code=2)
    try:
        yield backend
    except APIError as exc:
        fail(exc.message)
    except ConfigError as exc:
        fail(str(exc), code=2)
    finally:
        backend.close()


# -- commands ---------------------------------------------------------------------------------
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    collection: str = typer.Option(..., "--collection", "-c", help="Collection (created if new)."),
    url: str | None = typer.Option(None, "--url", envvar="AIHARNESS_URL", help=URL_HELP),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait until every file is done."),
) -> None:
    """Ingest files and folders; shows progress and exits non-zero if any document failed."""
    for path in paths:
        if not path.exists():
            fail(f"{path} does not exist")
    with backend_for(url) as backend:
        responses = backend.ingest(paths, collection)
        outcomes = [d for r in responses for d in r.documents]
        job_ids = [j for r in responses for j in r.job_ids]
        skipped = [s for r in responses for s in r.skipped]
        queued = [d.document_id for d in outcomes if d.outcome == "queued" and d.document_id]
        console.print(
            f"{len(outcomes)} file(s) for collection [bold]{collection}[/]: {len(queued)} queued, "
            f"{sum(d.outcome in ('unchanged', 'duplicate') for d in outcomes)} already indexed, "
            f"{sum(d.outcome == 'rejected' for d in outcomes)} rejected"
        )
        for line in skipped:
            console.print(f"[dim]skipped {line}[/]", highlight=False)
        if not wait:
            for job_id in job_ids:
                console.print(f"job {job_id} queued")
            return
        finish = backend.run_jobs(job_ids)
        try:
            docs = _follow(backend, queued, job_ids)
        except KeyboardInterrupt:
            fail("stopped waiting; the ingestion goes on (see `aiharness jobs list`)", code=130)
        if finish is not None:
            finish()
    failures = [(d.file_name, d.error or "failed") for d in docs if d.status == "failed"]
    failures += [(d.file_name, d.error or "rejected") for d in outcomes if d.outcome == "rejected"]
    ready = sum(d.status == "ready" for d in docs)
    chunks = sum(d.chunk_count for d in docs if d.status == "ready")
    if docs:
        console.print(f"[green]{ready} document(s) indexed[/] ({chunks} chunks)")
    elif not failures:
        console.print("nothing new to index")
    if failures:
        table = Table(title=f"{len(failures)} file(s) failed", show_lines=False)
        table.add_column("file", overflow="fold")
        table.add_column("error", overflow="fold")
        for name, error in failures:
            table.add_row(name, error)
        console.print(table)
        raise typer.Exit(1)


def _follow(backend: Backend, doc_ids: list[int], job_ids: list[str]) -> list[DocumentPublic]:
    """Poll documents and jobs until every document is ready or failed, drawing the progress."""
    if not doc_ids:
        return []
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        files = progress.add_task("files", total=len(doc_ids), rate="")
        chunks = progress.add_task("chunks", total=None, rate="")
        while True:
            docs = backend.documents(doc_ids)
            jobs = backend.jobs(job_ids) if job_ids else []
            settled = sum(d.status in TERMINAL_DOC for d in docs)
            done = sum(j["progress"]["done"] for j in jobs)
            totals = [j["progress"]["total"] for j in jobs]
            total = sum(t for t in totals if t) or None
            rates = [j["progress"]["rate_per_s"] for j in jobs if j["progress"]["rate_per_s"]]
            rate = f"{sum(rates):.1f} chunks/s" if rates else ""
            progress.update(files, completed=settled)
            progress.update(chunks, completed=done, total=total, rate=rate)
            jobs_over = all(j["status"] in ("succeeded", "failed", "cancelled") for j in jobs)
            if settled >= len(docs) or (jobs and jobs_over):
                return docs
            time.sleep(0.5)


def search(
    query: str = typer.Argument(..., help="What to look for (Korean or English)."),
    collection: str | None = typer.Option(None, "--collection", "-c", help="Collection name."),
    k: int = typer.Option(5, "--k", "-k", min=1, max=100, help="How many passages."),
    mode: str = typer.Option("hybrid", "--mode", "-m", help="keyword, vector or hybrid."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    url: str | None = typer.Option(None, "--url", envvar="AIHARNESS_URL", help=URL_HELP),
) -> None:
    """Search the knowledge base and print the best passages with their sources."""
    if mode not in SEARCH_MODES:
        fail(f"--mode must be one of {', '.join(SEARCH_MODES)}, not {mode!r}")
    with backend_for(url) as backend:
        hits = backend.search(query, collection=collection, k=k, mode=mode)
    if as_json:
        console.print_json(json.dumps([h.model_dump(mode="json") for h in hits]))
        return
    if not hits:
        console.print("no passage matches")
        return
    for rank, hit in enumerate(hits, start=1):
        where = hit.file_name + (f", page {hit.page}" if hit.page else "")
        heading = f" · {hit.heading}" if hit.heading else ""
        console.print(
            f"[bold]{rank}.[/] [cyan]{where}[/]{heading} [dim]({hit.collection}, "
            f"score {hit.score:.3f})[/]",
            highlight=False,
        )
        console.print(_excerpt(hit.text), highlight=False, markup=False)
        console.print()


def _excerpt(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# -- collections ------------------------------------------------------------------------------
UrlOption = typer.Option(None, "--url", envvar="AIHARNESS_URL", help=URL_HELP)


def _collections_table(items: Sequence[CollectionPublic]) -> Table:
    table = Table(title="collections")
    for column in ("name", "documents", "ready", "failed", "chunks", "model", "analyzer"):
        table.add_column(column)
    for c in items:
        table.add_row(
            c.name,
            str(c.documents.total),
            str(c.documents.ready),
            str(c.documents.failed),
            str(c.chunks),
            c.embedding_model,
            c.analyzer,
        )
    return table


@collections_app.command("list")
def list_collections(url: str | None = UrlOption) -> None:
    """Every collection with its document and chunk counts."""
    with backend_for(url) as backend:
        items = backend.list_collections()
    if not items:
        console.print("no collections yet; `aiharness ingest PATH --collection NAME` makes one")
        return
    console.print(_collections_table(items))


@collections_app.command("create")
def create_collection(
    name: str = typer.Argument(..., help="Collection name (letters, digits, - _ .)."),
    description: str = typer.Option("", help="What the collection holds."),
    max_tokens: int | None = typer.Option(None, help="Chunk token budget (16-507)."),
    overlap: float | None = typer.Option(None, help="Chunk overlap share (0-0.5)."),
    analyzer: str = typer.Option("kiwi", help="Keyword analyzer: kiwi or whitespace."),
    url: str | None = UrlOption,
) -> None:
    """Create a collection; it records the embedding model and chunking settings in force."""
    body: dict[str, Any] = {"name": name, "description": description, "analyzer": analyzer}
    if max_tokens is not None or overlap is not None:
        body["chunking"] = {
            k: v for k, v in {"max_tokens": max_tokens, "overlap": overlap}.items() if v is not None
        }
    with backend_for(url) as backend:
        created = backend.create_collection(body)
    console.print(
        f"collection [bold]{created.name}[/] created ({created.embedding_model}, "
        f"{created.chunking.get('max_tokens')} tokens per chunk)"
    )


@collections_app.command("show")
def show_collection(name: str = typer.Argument(...), url: str | None = UrlOption) -> None:
    """One collection's settings and counts."""
    with backend_for(url) as backend:
        c = backend.show_collection(name)
    console.print(_collections_table([c]))
    console.print(
        f"chunking: {c.chunking}; embedding: {c.embedding_model} ({c.embedding_dim} dims); "
        f"in progress: {c.documents.queued + c.documents.parsing + c.documents.embedding}",
        highlight=False,
    )
    if c.reembed is not None:
        r = c.reembed
        console.print(
            f"re-embedding to {r.target_model or 'the configured model'}: job {r.job_id} "
            f"({r.status}, {r.done}/{r.total if r.total is not None else '?'} passages)",
            highlight=False,
        )


@collections_app.command("delete")
def delete_collection(
    name: str = typer.Argument(...),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    url: str | None = UrlOption,
) -> None:
    """Delete a collection with all its documents, chunks and vectors."""
    if not yes and not typer.confirm(f"delete collection {name!r} and everything in it?"):
        raise typer.Exit(1)
    with backend_for(url) as backend:
        backend.delete_collection(name)
    console.print(f"collection {name} deleted")


@collections_app.command("reembed")
def reembed_collection(
    name: str = typer.Argument(..., help="The collection to move to the configured embedder."),
    force: bool = typer.Option(
        False, "--force", help="Re-embed even if it already uses the configured model."
    ),
    wait: bool = typer.Option(
        False, "--wait", help="Wait and show progress; exit non-zero if the job fails."
    ),
    url: str | None = UrlOption,
) -> None:
    """Re-embed a collection with the configured embedder; chunk ids (citations) stay.

    Searches use the old vectors until the job swaps in the new ones all at once.
    """
    with backend_for(url) as backend:
        moved = backend.reembed(name, force=force)
        console.print(
            f"re-embedding [bold]{moved.collection}[/]: {moved.from_model} ({moved.from_dim} "
            f"dims) -> {moved.to_model} ({moved.to_dim} dims); job {moved.job_id}",
            highlight=False,
        )
        if not wait:
            console.print(
                f"follow it with `aiharness jobs show {moved.job_id[:12]}` (a worker runs it: "
                "`aiharness up` or `aiharness worker`; or add --wait to run it here)"
            )
            return
        finish = backend.run_jobs([moved.job_id], follow_retries=True)
        try:
            job = _follow_job(backend, moved.job_id)
        except KeyboardInterrupt:
            short = moved.job_id[:12]
            fail(f"stopped waiting; the re-embed goes on (`aiharness jobs show {short}`)", code=130)
        if finish is not None:
            finish()
    if job["status"] != "succeeded":
        fail(f"re-embed job {moved.job_id} {job['status']}: {job.get('error') or 'no error text'}")
    result = job.get("result") or {}
    console.print(
        f"[green]collection {moved.collection} now uses {moved.to_model}[/] "
        f"({result.get('chunks', '?')} passages, {result.get('embedded', '?')} embedded)",
        highlight=False,
    )


def _follow_job(backend: Backend, job_id: str) -> dict[str, Any]:
    """Poll one job until it ends, drawing its progress; returns its last state."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("passages", total=None, rate="")
        while True:
            job = backend.jobs([job_id])[0]
            p = job["progress"]
            rate = f"{p['rate_per_s']:.1f} passages/s" if p["rate_per_s"] else ""
            progress.update(task, completed=p["done"], total=p["total"], rate=rate)
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return job
            time.sleep(0.5)
