"""``aiharness db``: apply and inspect migrations."""

from __future__ import annotations

import typer

from aiharness.cli.common import console, local_platform

app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@app.command()
def upgrade(
    revision: str = typer.Argument("head", help="Target revision (default: the newest)."),
) -> None:
    """Apply migrations up to REVISION."""
    from aiharness.db import migrate
    from aiharness.db.engine import describe_url
    from aiharness.platform import model_modules

    with local_platform(migrate_database=False, new_data_dir_ok=True) as platform:
        before = migrate.current_revision(platform.engine)
        state = migrate.upgrade(
            platform.engine, revision, model_modules=model_modules(platform.features)
        )
        where = describe_url(platform.settings.resolved_database_url)
    if before == state.current:
        console.print(f"{where} already at revision {state.current}")
    else:
        console.print(f"{where} upgraded from {before or 'empty'} to {state.current}")


@app.command()
def current() -> None:
    """Show the database's revision and the newest one this version knows."""
    from aiharness.db import migrate
    from aiharness.db.engine import describe_url

    with local_platform(migrate_database=False) as platform:
        state = migrate.revision_state(platform.engine)
        where = describe_url(platform.settings.resolved_database_url)
    marker = (
        "(head)" if state.at_head else f"(behind; head is {state.head}: run `aiharness db upgrade`)"
    )
    console.print(f"{where}: {state.current or 'empty'} {marker}")
