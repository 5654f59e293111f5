"""Fixtures for jobs: real queue storages (SQLite file, the machine's Redis and PostgreSQL), each
test on its own Redis key prefix / database, settings wired to them, and effect tables."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from aiharness.config import Settings
from aiharness.db import migrate
from aiharness.db.engine import create_db_engine, create_session_factory
from aiharness.jobs.queue import QueueHub
from aiharness.jobs.registry import load_job_modules
from tests.fixtures.databases import unavailable
from tests.jobs import handlers

REDIS_URL = os.environ.get("AIHARNESS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
HANDLERS_MODULE = "tests.jobs.handlers"
JOBS_REVISION = "0002_jobs"
load_job_modules([HANDLERS_MODULE])


@pytest.fixture(scope="session")
def redis_base_url() -> str:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at {REDIS_URL} is not reachable: {exc}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def redis_queue_url(redis_base_url: str) -> Iterator[str]:
    """The machine's Redis with a key prefix of this test's own; its keys are deleted after."""
    import redis

    prefix = f"t{uuid.uuid4().hex[:10]}"
    yield f"{redis_base_url}?prefix={prefix}"
    client = redis.Redis.from_url(redis_base_url)
    keys = list(client.scan_iter(match=f"huey.*.{prefix}_*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def sqlite_queue_url(tmp_path: Path) -> str:
    path = tmp_path / "data" / "queue.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _admin(url: str) -> Engine:
    return create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})


@contextmanager
def _fresh_database(admin_url: str, template: str | None = None) -> Iterator[str]:
    name = f"aiharness_j_{uuid.uuid4().hex[:12]}"
    admin = _admin(admin_url)
    suffix = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def jobs_postgres_template(postgres_admin_url: str) -> Iterator[str]:
    """A database migrated to the jobs revision once per session (independent of later
    features' migrations, which may need server extensions)."""
    name = f"aiharness_jtpl_{os.getpid()}"
    admin = _admin(postgres_admin_url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_db_engine(
        make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    )
    migrate.upgrade(engine, JOBS_REVISION)
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def jobs_postgres_url(postgres_admin_url: str, jobs_postgres_template: str) -> Iterator[str]:
    with _fresh_database(postgres_admin_url, jobs_postgres_template) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """The job tables on a migrated SQLite file and on PostgreSQL (a fresh database each)."""
    fixture = "sqlite_url" if request.param == "sqlite" else "jobs_postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def postgres_queue_url(postgres_admin_url: str) -> Iterator[str]:
    """Huey's Postgres storage in this test's own empty database."""
    with _fresh_database(postgres_admin_url) as url:
        yield make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "redis", "postgres"])
def queue_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on each queue storage (the conformance pattern)."""
    url: str = request.getfixturevalue(f"{request.param}_queue_url")
    return url


def jobs_settings(tmp_path: Path, database_url: str, queue_url: str, **extra: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "queue_url": queue_url,
        "log_format": "json",
        "worker_enabled": False,
        "job_modules": [HANDLERS_MODULE],
        "heartbeat_interval_s": 0.5,
        "heartbeat_timeout_s": 3.0,
        "redispatch_after_s": 2.0,
    }
    values.update(extra)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url)
    handlers.effects_metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return create_session_factory(engine)


@pytest.fixture
def hub(sqlite_queue_url: str) -> Iterator[QueueHub]:
    """A SQLite queue for service tests (the storage itself is covered by the conformance suite)."""
    queues = QueueHub(sqlite_queue_url)
    yield queues
    queues.close()
