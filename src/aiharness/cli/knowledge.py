"""The knowledge base's commands: ``ingest``, ``search`` and ``collections ...``.

Each works through a running platform (``--url`` / ``AIHARNESS_URL``: files are uploaded) or
directly on the data dir; ``ingest`` then runs the ingest job itself unless a worker is live.
"""

from __future__ import annotations

import typer


def register(root: typer.Typer) -> None:
    from aiharness.cli import collections, ingest, search

    root.command("ingest")(ingest.ingest)
    root.command("search")(search.search)
    root.add_typer(collections.app, name="collections")
