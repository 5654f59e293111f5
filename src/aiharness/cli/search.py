"""``aiharness search``: the best passages for a query, with their sources."""

from __future__ import annotations

import json

import typer

from aiharness.cli.backend import connect
from aiharness.cli.common import UrlOption, console, fail

SEARCH_MODES = ("hybrid", "keyword", "vector")


def search(
    query: str = typer.Argument(..., help="What to look for (Korean or English)."),
    collection: str | None = typer.Option(None, "--collection", "-c", help="Collection name."),
    k: int = typer.Option(5, "--k", "-k", min=1, max=100, help="How many passages."),
    mode: str = typer.Option("hybrid", "--mode", "-m", help="keyword, vector or hybrid."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    url: str | None = UrlOption,
) -> None:
    """Search the knowledge base and print the best passages with their sources."""
    if mode not in SEARCH_MODES:
        fail(f"--mode must be one of {', '.join(SEARCH_MODES)}, not {mode!r}")
    with connect(url) as backend:
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
        console.print(excerpt(hit.text), highlight=False, markup=False)
        console.print()


def excerpt(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
