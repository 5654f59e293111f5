"""Apply and inspect Alembic migrations programmatically (no alembic.ini needed)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from aiharness.config import ConfigError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# PostgreSQL advisory lock taken while migrating: processes starting together (API replicas,
# workers) migrate one at a time; the others find the schema at head and go on.
MIGRATION_LOCK_KEY = 0x41494852  # "AIHR"


class DatabaseError(ConfigError):
    """The database cannot be used as it is; the message says why and what to do."""


@dataclass(frozen=True)
class RevisionState:
    current: str | None
    head: str

    @property
    def at_head(self) -> bool:
        return self.current == self.head


def alembic_config(engine: Engine | None = None, model_modules: Sequence[str] = ()) -> Config:
    """Alembic's config for our migrations; ``model_modules`` are the features' ORM modules
    (the environment imports them so that the metadata is complete)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.attributes["engine"] = engine
    config.attributes["model_modules"] = tuple(model_modules)
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


def upgrade(
    engine: Engine, target: str = "head", model_modules: Sequence[str] = ()
) -> RevisionState:
    """Bring the schema to ``target``; refuse a database from a newer or foreign version."""
    state = revision_state(engine)
    if state.at_head and target == "head":
        return state
    try:
        with _migration_lock(engine):
            command.upgrade(alembic_config(engine, model_modules), target)
    except CommandError as exc:
        raise DatabaseError(f"migration failed: {exc}") from None
    except OperationalError as exc:
        raise DatabaseError(unreachable_message(engine, exc)) from None
    return revision_state(engine)


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()


def prepare(
    engine: Engine, *, auto_migrate: bool, model_modules: Sequence[str] = ()
) -> RevisionState:
    """The one policy at start: migrate when allowed, else refuse a schema that is behind."""
    if auto_migrate:
        before = current_revision(engine)
        state = upgrade(engine, model_modules=model_modules)
        if before != state.current:
            from aiharness.observability.logging import get_logger

            get_logger("aiharness.db").info(
                "database migrated", from_revision=before, to_revision=state.current
            )
        return state
    state = revision_state(engine)
    if not state.at_head:
        raise DatabaseError(
            f"database at revision {state.current or 'empty'}, expected {state.head}; "
            "run `aiharness db upgrade` or set AIHARNESS_AUTO_MIGRATE=true"
        )
    return state


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
