"""``aiharness db``: apply and inspect migrations."""

from __future__ import annotations

import typer

from aiharness.cli.common import console, fail, settings_or_exit
from aiharness.config import ConfigError

app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@app.command()
def upgrade(
    revision: str = typer.Argument("head", help="Target revision (default: the newest)."),
) -> None:
    """Apply migrations up to REVISION."""
    from aiharness.db import migrate
    from aiharness.db.engine import create_db_engine, describe_url
    from aiharness.platform import ensure_data_dir

    settings = settings_or_exit()
    try:
        ensure_data_dir(settings)
        engine = create_db_engine(settings.resolved_database_url)
        before = migrate.current_revision(engine)
        state = migrate.upgrade(engine, revision)
    except ConfigError as exc:
        fail(str(exc))
    where = describe_url(settings.resolved_database_url)
    if before == state.current:
        console.print(f"{where} already at revision {state.current}")
    else:
        console.print(f"{where} upgraded from {before or 'empty'} to {state.current}")


@app.command()
def current() -> None:
    """Show the database's revision and the newest one this version knows."""
    from aiharness.db import migrate
    from aiharness.db.engine import create_db_engine, describe_url
    from aiharness.platform import ensure_data_dir

    settings = settings_or_exit()
    try:
        ensure_data_dir(settings)
        engine = create_db_engine(settings.resolved_database_url)
        state = migrate.revision_state(engine)
    except ConfigError as exc:
        fail(str(exc))
    marker = (
        "(head)" if state.at_head else f"(behind; head is {state.head}: run `aiharness db upgrade`)"
    )
    console.print(
        f"{describe_url(settings.resolved_database_url)}: {state.current or 'empty'} {marker}"
    )
