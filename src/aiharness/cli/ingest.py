"""``aiharness ingest``: files and folders into a collection, with progress bars."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from aiharness.cli.backend import connect
from aiharness.cli.common import UrlOption, console, fail
from aiharness.cli.progress import POLL_S, TERMINAL_JOB, progress_bars, rate_line

if TYPE_CHECKING:
    from aiharness.cli.backend import Backend

# Polls without any change before checking whether the jobs themselves have ended.
STALL_POLLS = 10


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
        duplicates = [d for d in outcomes if d.outcome == "duplicate"]
        console.print(
            f"{len(outcomes)} file(s) for collection [bold]{collection}[/]: {len(queued)} queued, "
            f"{sum(d.outcome == 'unchanged' for d in outcomes)} already indexed, "
            f"{len(duplicates)} duplicate(s), "
            f"{sum(d.outcome == 'rejected' for d in outcomes)} rejected"
        )
        for line in skipped:
            console.print(f"[dim]skipped {line}[/]", highlight=False)
        for d in duplicates:
            twin = d.duplicate_of_name or f"document {d.duplicate_of}"
            console.print(f"[dim]skipped {d.file_name}: duplicate of {twin}[/]", highlight=False)
        if not wait:
            for job_id in job_ids:
                console.print(f"job {job_id} queued")
            return
        finish = backend.run_jobs(job_ids)
        try:
            chunks = _follow(backend, collection, queued, job_ids)
            failed = backend.failed_documents(collection, queued) if queued else []
        except KeyboardInterrupt:
            fail("stopped waiting; the ingestion goes on (see `aiharness jobs list`)", code=130)
        if finish is not None:
            finish()
    failures = [(d.file_name, d.error or "failed") for d in failed]
    failures += [(d.file_name, d.error or "rejected") for d in outcomes if d.outcome == "rejected"]
    if queued:
        ready = len(queued) - len(failed)
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


def _follow(backend: Backend, collection: str, doc_ids: list[int], job_ids: list[str]) -> int:
    """Poll the collection's progress aggregate (one request a second, however many files)
    until none of ``doc_ids`` is waiting; returns the chunks indexed meanwhile."""
    if not doc_ids:
        return 0
    first, last = min(doc_ids), max(doc_ids)
    started = time.monotonic()
    baseline: int | None = None
    unchanged_polls, last_seen = 0, None
    with progress_bars(eta=False) as progress:
        files = progress.add_task("files", total=len(doc_ids), rate="")
        while True:
            # The id range may hold other documents (already ready, or another ingest's):
            # what is still waiting in it is ours to wait for.
            now = backend.ingest_progress(collection, first_id=first, last_id=last)
            baseline = now.chunks if baseline is None else min(baseline, now.chunks)
            waiting = now.queued + now.processing
            settled = max(0, len(doc_ids) - waiting)
            chunks = now.chunks - baseline
            elapsed = time.monotonic() - started
            rate = rate_line(chunks=chunks, settled=settled, total=len(doc_ids), elapsed_s=elapsed)
            progress.update(files, completed=settled, rate=rate)
            if waiting == 0:
                return chunks
            state = (waiting, now.chunks)
            unchanged_polls = unchanged_polls + 1 if state == last_seen else 0
            last_seen = state
            # Stalled a while: if every job has ended (cancelled, failed), nothing will move.
            if unchanged_polls >= STALL_POLLS:
                unchanged_polls = 0
                if all(backend.get_job(j).status in TERMINAL_JOB for j in job_ids):
                    return chunks
            time.sleep(POLL_S)
