"""Apply and inspect Alembic migrations programmatically (no alembic.ini needed)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from aiharness.config import ConfigError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class DatabaseError(ConfigError):
    """The database cannot be used as it is; the message says why and what to do."""


@dataclass(frozen=True)
class RevisionState:
    current: str | None
    head: str

    @property
    def at_head(self) -> bool:
        return self.current == self.head


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the package ships at least one migration"
    return head


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise DatabaseError(unreachable_message(engine, exc)) from None


def revision_state(engine: Engine) -> RevisionState:
    current = current_revision(engine)
    head = head_revision()
    if current is not None and not _known(current):
        raise DatabaseError(unknown_revision_message(current))
    return RevisionState(current=current, head=head)


def upgrade(engine: Engine, target: str = "head") -> RevisionState:
    """Bring the schema to ``target``; refuse a database from a newer or foreign version."""
    state = revision_state(engine)
    if state.at_head and target == "head":
        return state
    try:
        command.upgrade(alembic_config(engine), target)
    except CommandError as exc:
        raise DatabaseError(f"migration failed: {exc}") from None
    except OperationalError as exc:
        raise DatabaseError(unreachable_message(engine, exc)) from None
    return revision_state(engine)


def _known(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False


def unknown_revision_message(revision: str) -> str:
    return (
        f"the database is at migration revision {revision!r}, which this version of aiharness "
        "does not know (it was written by a newer or different version); install that version, "
        "or restore a backup made with this one"
    )


def unreachable_message(engine: Engine, exc: Exception) -> str:
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    where = engine.url.render_as_string(hide_password=True)
    return f"cannot open the database {where}: {reason} (check AIHARNESS_DATABASE_URL)"
