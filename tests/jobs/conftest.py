"""Fixtures for jobs: settings and platforms wired to real storages (the queue storages are in
``tests/fixtures/queues.py``), and the test handlers' effect tables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from aiharness.config import Settings
from aiharness.db.engine import create_db_engine, create_session_factory
from aiharness.features import FEATURES, make_settings
from aiharness.jobs.queue import QueueHub
from aiharness.jobs.registry import load_job_modules
from aiharness.platform import Platform, Role, build_platform
from tests.jobs import handlers

HANDLERS_MODULE = "tests.jobs.handlers"
load_job_modules([HANDLERS_MODULE])


def jobs_settings(tmp_path: Path, database_url: str, queue_url: str, **jobs: object) -> Settings:
    """Settings on these storages with fast heartbeats; ``jobs`` overrides the jobs section."""
    section: dict[str, object] = {
        "queue_url": queue_url,
        "worker_enabled": False,
        "modules": [HANDLERS_MODULE],
        "heartbeat_interval_s": 0.5,
        "heartbeat_timeout_s": 3.0,
        "redispatch_after_s": 2.0,
        **jobs,
    }
    return make_settings(
        data_dir=tmp_path / "data", database_url=database_url, log_format="json", jobs=section
    )


@contextmanager
def jobs_platform(settings: Settings, role: Role = "worker") -> Iterator[Platform]:
    """A platform built the way ``aiharness worker`` builds it, closed afterwards."""
    platform = build_platform(settings, role=role, features=FEATURES)
    try:
        yield platform
    finally:
        platform.close()


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
