"""Entry point: ``aiharness`` (console script) and ``python -m aiharness``.

The platform's own commands are listed here; each installed feature adds its command groups
from ``aiharness.cli.<feature name>`` (a module with ``register(app)``), found by name.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from typing import Annotated

import typer

from aiharness import __version__
from aiharness.cli import db, doctor, up
from aiharness.cli.common import console, fail

app = typer.Typer(
    name="aiharness",
    help="Industrial AI Harness: a self-hosted, offline-first AI platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


@app.callback()
def main(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Platform data dir to work on (AIHARNESS_DATA_DIR); commands refuse to start "
            "a new one unless asked.",
        ),
    ] = None,
) -> None:
    """Industrial AI Harness: a self-hosted, offline-first AI platform."""
    if data_dir is not None:
        os.environ["AIHARNESS_DATA_DIR"] = str(data_dir)


app.command("up")(up.up)
app.command("doctor")(doctor.doctor)
app.add_typer(db.app, name="db")


@app.command()
def version() -> None:
    """Print the installed version."""
    console.print(f"aiharness {__version__}")


def register_feature_commands(root: typer.Typer) -> None:
    from aiharness.features import FEATURES

    for feature in FEATURES:
        name = f"aiharness.cli.{feature.name}"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name).register(root)


register_feature_commands(app)


def run() -> None:
    try:
        app()
    except Exception as exc:
        # A safety net: commands normally turn these into fail() themselves. The settings module
        # (pydantic-settings, a quarter second) is imported only when something went wrong.
        from aiharness.config import ConfigError

        if isinstance(exc, ConfigError):
            fail(str(exc), code=2)
        raise
