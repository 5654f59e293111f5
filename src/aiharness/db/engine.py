"""Engine and session factory for SQLite (embedded) and PostgreSQL (scale)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from aiharness.config import ConfigError

SUPPORTED_DRIVERS = {"sqlite", "sqlite+pysqlite", "postgresql+psycopg", "postgresql"}


def parse_database_url(url: str) -> URL:
    """Validate a database URL up front so a typo gives one clear line, not a driver traceback."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"AIHARNESS_DATABASE_URL {url!r} is not a database URL; "
            "use sqlite:///path/to/file.db or postgresql+psycopg://user:pass@host:5432/dbname"
        ) from None
    if parsed.drivername not in SUPPORTED_DRIVERS:
        raise ConfigError(
            f"AIHARNESS_DATABASE_URL uses {parsed.drivername!r}; supported: sqlite:/// "
            "or postgresql+psycopg://"
        )
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the single writer; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_db_engine(url: str) -> Engine:
    """Create an engine; SQLite files get WAL and foreign keys, PostgreSQL gets pre-ping."""
    parsed = parse_database_url(url)
    if is_sqlite(parsed):
        database = parsed.database
        if database and database != ":memory:":
            parent = Path(database).parent
            if not parent.is_dir():
                raise ConfigError(f"folder {parent} for the SQLite database does not exist")
        engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        parsed,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        connect_args={"connect_timeout": 5},
    )


def create_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def describe_url(url: str) -> str:
    """The URL with its password hidden, for logs and the dashboard."""
    return parse_database_url(url).render_as_string(hide_password=True)
