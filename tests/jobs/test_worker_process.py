"""Real ``aiharness worker`` processes: running jobs, heartbeats, graceful stop, SIGKILL recovery
on Redis with two workers, the embedded worker of ``aiharness up``, and refusing a dead queue."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from aiharness.db.engine import create_db_engine, create_session_factory
from aiharness.jobs import service
from aiharness.jobs.embedded import EmbeddedWorker
from aiharness.jobs.models import Job
from aiharness.jobs.queue import QueueHub
from aiharness.jobs.schemas import JobCreate, WorkerList
from tests.jobs import handlers
from tests.jobs.conftest import jobs_settings
from tests.jobs.procs import REPO_ROOT, start_worker, stop, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def db(sqlite_url: str) -> tuple[Engine, sessionmaker[Session]]:
    engine = create_db_engine(sqlite_url)
    handlers.effects_metadata.create_all(engine)
    return engine, create_session_factory(engine)


def _statuses(factory: sessionmaker[Session]) -> dict[str, int]:
    # Only the tests' own jobs: a worker started at minute 17 also submits the hourly
    # housekeeping job, which must not change the counts.
    with factory() as session:
        rows = session.execute(
            select(Job.status, func.count()).where(Job.type != "housekeeping").group_by(Job.status)
        ).all()
    return {str(status): int(n) for status, n in rows}


def _workers(factory: sessionmaker[Session], timeout_s: float) -> WorkerList:
    with factory() as session:
        return service.list_workers(session=session, heartbeat_timeout_s=timeout_s)


def _submit_many(factory: sessionmaker[Session], hub: QueueHub, n: int, **params: object) -> None:
    with factory() as session:
        for i in range(n):
            service.submit_job(
                session=session,
                queues=hub,
                job_in=JobCreate(type="test.record", params={"value": i, **params}),
            )


def test_worker_runs_jobs_beats_and_stops_gracefully(
    tmp_path: Path,
    sqlite_url: str,
    sqlite_queue_url: str,
    db: tuple[Engine, sessionmaker[Session]],
) -> None:
    _engine, factory = db
    settings = jobs_settings(tmp_path, sqlite_url, sqlite_queue_url)
    hub = QueueHub(sqlite_queue_url)
    worker = start_worker(settings, tmp_path / "worker.log")
    try:
        _submit_many(factory, hub, 30)
        wait_for(lambda: _statuses(factory) == {"succeeded": 30}, 30, "30 jobs to succeed")
        listed = _workers(factory, 3.0)
        assert [w.state for w in listed.items] == ["live"]
        assert listed.items[0].pid == worker.pid
        wait_for(
            lambda: _workers(factory, 3).items[0].jobs_succeeded == 30, 5, "the counter heartbeat"
        )
        assert stop(worker) == 0
    finally:
        stop(worker)
        hub.close()
    assert [w.state for w in _workers(factory, 3).items] == ["stopped"]
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(handlers.effects)) == 30


def test_sigkill_of_one_of_two_workers_loses_and_duplicates_nothing(
    tmp_path: Path,
    sqlite_url: str,
    redis_queue_url: str,
    db: tuple[Engine, sessionmaker[Session]],
) -> None:
    """The issue's crash test: 300 short jobs over two workers on Redis, one killed mid-run."""
    _engine, factory = db
    total = 300
    settings = jobs_settings(tmp_path, sqlite_url, redis_queue_url)
    hub = QueueHub(redis_queue_url)
    victim = start_worker(settings, tmp_path / "victim.log")
    survivor = start_worker(settings, tmp_path / "survivor.log")
    try:
        wait_for(lambda: _workers(factory, 3).live == 2, 20, "two live workers")
        victim_id = next(w.id for w in _workers(factory, 3).items if w.pid == victim.pid)
        _submit_many(factory, hub, total, sleep_s=0.03)

        def victim_busy() -> bool:
            with factory() as session:
                running = session.scalars(
                    select(Job.id).where(Job.status == "running", Job.worker_id == victim_id)
                ).all()
            return _statuses(factory).get("succeeded", 0) >= 60 and len(running) > 0

        wait_for(victim_busy, 30, "the victim to be mid-run")
        with factory() as session:
            in_flight = set(
                session.scalars(
                    select(Job.id).where(Job.status == "running", Job.worker_id == victim_id)
                ).all()
            )
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)

        wait_for(lambda: _statuses(factory) == {"succeeded": total}, 60, "every job to succeed")
        with factory() as session:
            effects = session.execute(select(handlers.effects.c.job_id)).scalars().all()
            job_ids = set(session.scalars(select(Job.id)).all())
            runs = session.scalar(select(func.count()).select_from(handlers.runs)) or 0
            recovered = session.scalars(select(Job).where(Job.id.in_(in_flight))).all()
        # Exactly once in effect: one effect row per job, none missing, none doubled.
        assert len(effects) == total
        assert set(effects) == job_ids
        # At least once in execution: the killed worker's jobs ran again, counted as attempts.
        assert runs >= total + len(in_flight) - 2
        assert in_flight
        for job in recovered:
            assert job.attempts == 2, job.id
            assert "stopped responding" in job.log_tail
            assert job.worker_id != victim_id
        listed = {w.id: w.state for w in _workers(factory, 3.0).items}
        assert listed[victim_id] == "dead"
        assert sorted(listed.values()) == ["dead", "live"]
        assert stop(survivor) == 0
    finally:
        stop(victim)
        stop(survivor)
        hub.close()


def test_embedded_worker_runs_as_a_child_and_stops_with_the_app(
    tmp_path: Path,
    sqlite_url: str,
    sqlite_queue_url: str,
    db: tuple[Engine, sessionmaker[Session]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _engine, factory = db
    # The child imports tests.jobs.handlers; PYTHONPATH is inherited from this process.
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    settings = jobs_settings(tmp_path, sqlite_url, sqlite_queue_url, worker_enabled=True)
    hub = QueueHub(sqlite_queue_url)
    service_ = EmbeddedWorker(settings)
    service_.start()
    try:
        _submit_many(factory, hub, 5)
        wait_for(lambda: _statuses(factory) == {"succeeded": 5}, 30, "jobs run by the child")
        assert service_.alive
    finally:
        service_.stop()
        hub.close()
    assert not service_.alive
    assert service_.process is not None
    assert service_.process.returncode == 0
    assert [w.state for w in _workers(factory, 3).items] == ["stopped"]


def test_worker_refuses_an_unreachable_queue_in_one_line(tmp_path: Path, sqlite_url: str) -> None:
    settings = jobs_settings(tmp_path, sqlite_url, "redis://127.0.0.1:1/0")
    from aiharness.jobs.embedded import settings_env

    result = subprocess.run(
        [sys.executable, "-m", "aiharness", "worker"],
        env={**settings_env(settings), "PYTHONPATH": str(REPO_ROOT)},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "redis 127.0.0.1:1/0" in result.stderr
