"""Entry point: ``aiharness`` (console script) and ``python -m aiharness``."""

from __future__ import annotations

import typer

from aiharness import __version__
from aiharness.cli import db, doctor, knowledge, up
from aiharness.cli.common import console, fail
from aiharness.config import ConfigError
from aiharness.jobs import cli as jobs_cli

app = typer.Typer(
    name="aiharness",
    help="Industrial AI Harness: a self-hosted, offline-first AI platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.command("up")(up.up)
app.command("doctor")(doctor.doctor)
app.add_typer(db.app, name="db")
app.add_typer(jobs_cli.app, name="jobs")
app.command("worker")(jobs_cli.worker)
app.command("ingest")(knowledge.ingest)
app.command("search")(knowledge.search)
app.add_typer(knowledge.collections_app, name="collections")


@app.command()
def version() -> None:
    """Print the installed version."""
    console.print(f"aiharness {__version__}")


def run() -> None:
    try:
        app()
    except ConfigError as exc:  # a safety net: commands normally turn these into fail() themselves
        fail(str(exc), code=2)
