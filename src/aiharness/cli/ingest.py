"""``aiharness ingest``: files and folders into a collection, with progress bars."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from aiharness.cli.backend import connect
from aiharness.cli.common import UrlOption, console, fail
from aiharness.cli.progress import POLL_S, TERMINAL_JOB, progress_bars

if TYPE_CHECKING:
    from aiharness.cli.backend import Backend
    from aiharness.knowledge.schemas import DocumentPublic

TERMINAL_DOC = frozenset({"ready", "failed"})


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    collection: str = typer.Option(..., "--collection", "-c", help="Collection (created if new)."),
    url: str | None = UrlOption,
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait until every file is done."),
) -> None:
    """Ingest files and folders; shows progress and exits non-zero if any document failed."""
    from rich.table import Table

    for path in paths:
        if not path.exists():
            fail(f"{path} does not exist")
    with connect(url) as backend:
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
    with progress_bars() as progress:
        files = progress.add_task("files", total=len(doc_ids), rate="")
        chunks = progress.add_task("chunks", total=None, rate="")
        while True:
            docs = backend.documents(doc_ids)
            jobs = [backend.get_job(j) for j in job_ids]
            settled = sum(d.status in TERMINAL_DOC for d in docs)
            done = sum(j.progress.done for j in jobs)
            total = sum(j.progress.total or 0 for j in jobs) or None
            rates = [j.progress.rate_per_s for j in jobs if j.progress.rate_per_s]
            rate = f"{sum(rates):.1f} chunks/s" if rates else ""
            progress.update(files, completed=settled)
            progress.update(chunks, completed=done, total=total, rate=rate)
            jobs_over = all(j.status in TERMINAL_JOB for j in jobs)
            if settled >= len(docs) or (jobs and jobs_over):
                return docs
            time.sleep(POLL_S)
