"""``aiharness collections list|create|show|reembed|delete``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import typer

from aiharness.cli.backend import connect
from aiharness.cli.common import UrlOption, console, fail
from aiharness.cli.progress import follow_job

if TYPE_CHECKING:
    from rich.table import Table

    from aiharness.knowledge.schemas import CollectionPublic

app = typer.Typer(
    help="Knowledge collections: list, create, show, re-embed, delete.", no_args_is_help=True
)


def _collections_table(items: Sequence[CollectionPublic]) -> Table:
    from rich.table import Table

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


@app.command("list")
def list_collections(url: str | None = UrlOption) -> None:
    """Every collection with its document and chunk counts."""
    with connect(url) as backend:
        items = backend.list_collections()
    if not items:
        console.print("no collections yet; `aiharness ingest PATH --collection NAME` makes one")
        return
    console.print(_collections_table(items))


@app.command("create")
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
    with connect(url) as backend:
        created = backend.create_collection(body)
    console.print(
        f"collection [bold]{created.name}[/] created ({created.embedding_model}, "
        f"{created.chunking.get('max_tokens')} tokens per chunk)"
    )


@app.command("show")
def show_collection(name: str = typer.Argument(...), url: str | None = UrlOption) -> None:
    """One collection's settings and counts."""
    with connect(url) as backend:
        c = backend.show_collection(name)
    console.print(_collections_table([c]))
    chunking = c.chunking
    overlap = float(chunking.get("overlap", 0))
    in_progress = c.documents.queued + c.documents.parsing + c.documents.embedding
    console.print(
        f"chunks: {chunking.get('max_tokens', '?')} tokens, {overlap:.0%} overlap; "
        f"embedding: {c.embedding_model} ({c.embedding_dim} dimensions); keyword analyzer: "
        f"{c.analyzer}; documents in progress: {in_progress}",
        highlight=False,
    )
    if c.reembed is not None:
        r = c.reembed
        console.print(
            f"re-embedding to {r.target_model or 'the configured model'}: job {r.job_id} "
            f"({r.status}, {r.done}/{r.total if r.total is not None else '?'} passages)",
            highlight=False,
        )


@app.command("delete")
def delete_collection(
    name: str = typer.Argument(...),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    url: str | None = UrlOption,
) -> None:
    """Delete a collection with all its documents, chunks and vectors."""
    if not yes and not typer.confirm(f"delete collection {name!r} and everything in it?"):
        raise typer.Exit(1)
    with connect(url) as backend:
        backend.delete_collection(name)
    console.print(f"collection {name} deleted")


@app.command("reembed")
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
    with connect(url) as backend:
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
            job = follow_job(backend, moved.job_id)
        except KeyboardInterrupt:
            short = moved.job_id[:12]
            fail(f"stopped waiting; the re-embed goes on (`aiharness jobs show {short}`)", code=130)
        if finish is not None:
            finish()
    if job.status != "succeeded":
        fail(f"re-embed job {moved.job_id} {job.status}: {job.error or 'no error text'}")
    result = job.result or {}
    console.print(
        f"[green]collection {moved.collection} now uses {moved.to_model}[/] "
        f"({result.get('chunks', '?')} passages, {result.get('embedded', '?')} embedded)",
        highlight=False,
    )
