"""The worker's job runner, in-process on real databases: success, retries with backoff,
permanent errors, cooperative cancellation, throttled progress, unknown types."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from aiharness.jobs import service
from aiharness.jobs.registry import JobRegistry
from aiharness.jobs.schemas import JobCreate, JobDetail
from aiharness.jobs.worker import JobRunner
from tests.jobs import handlers
from tests.jobs.conftest import jobs_platform, jobs_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def runner(
    tmp_path: Path,
    database_url: str,
    sqlite_queue_url: str,
    session_factory: sessionmaker[Session],
) -> Iterator[JobRunner]:
    settings = jobs_settings(tmp_path, database_url, sqlite_queue_url)
    with jobs_platform(settings) as platform:
        yield JobRunner(platform=platform, worker_id="test-worker")


def _submit(runner: JobRunner, job_type: str, **params: object) -> str:
    with runner.session_factory() as session:
        job = service.submit_job(
            session=session, queues=runner.queues, job_in=JobCreate(type=job_type, params=params)
        )
    assert job is not None
    return job.id


def _get(runner: JobRunner, job_id: str) -> JobDetail:
    with runner.session_factory() as session:
        return service.get_job(session=session, job_id=job_id)


def _run_next(runner: JobRunner, timeout_s: float = 5.0) -> str:
    """What a consumer thread does: take the next message (promoting due retries) and run it."""
    queue = runner.queues.get("default")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        queue.promote_due()
        job_id = queue.receive()
        if job_id is not None:
            runner(job_id)
            return job_id
        time.sleep(0.02)
    raise AssertionError("no message arrived")


def test_success_records_result_and_effect(runner: JobRunner) -> None:
    job_id = _submit(runner, "test.record", value=42)
    _run_next(runner)
    job = _get(runner, job_id)
    assert (job.status, job.attempts, job.result) == ("succeeded", 1, {"value": 42})
    assert job.duration_s is not None
    assert job.finished_at is not None
    assert job.worker_id == "test-worker"
    with runner.session_factory() as session:
        value = session.scalar(select(handlers.effects.c.value))
    assert value == 42
    assert runner.succeeded == 1


def test_retryable_error_backs_off_then_succeeds(runner: JobRunner) -> None:
    job_id = _submit(runner, "test.flaky", fail_times=2)
    _run_next(runner)
    job = _get(runner, job_id)
    assert job.status == "retrying"
    assert job.error == "ConnectionError: transient failure on attempt 1"
    assert job.error_traceback is not None
    assert "ConnectionError" in job.error_traceback
    assert job.status_reason is not None
    assert "attempt 1 of 3 failed" in job.status_reason
    assert job.run_at is not None
    assert job.run_at > job.updated_at  # the retry is scheduled in the future
    assert runner.queues.get("default").scheduled() == 1
    _run_next(runner)
    assert _get(runner, job_id).status == "retrying"
    _run_next(runner)
    job = _get(runner, job_id)
    assert (job.status, job.attempts, job.result) == ("succeeded", 3, {"attempt": 3})


def test_retries_exhausted_fail_with_the_last_error(runner: JobRunner) -> None:
    job_id = _submit(runner, "test.flaky", fail_times=10)
    for _ in range(3):
        _run_next(runner)
    job = _get(runner, job_id)
    assert (job.status, job.attempts) == ("failed", 3)
    assert job.error == "ConnectionError: transient failure on attempt 3"
    assert job.status_reason == "no attempts left"
    assert "attempt 3 failed" in job.log_tail


@pytest.mark.parametrize(
    ("value", "message"),
    [(0, "PermanentJobError: value must not be 0"), (3, "BadInput: value 3 is not acceptable")],
)
def test_permanent_errors_fail_at_once(runner: JobRunner, value: int, message: str) -> None:
    job_id = _submit(runner, "test.permanent", value=value)
    _run_next(runner)
    job = _get(runner, job_id)
    assert (job.status, job.attempts, job.error) == ("failed", 1, message)
    assert job.status_reason == "permanent error"
    assert runner.queues.get("default").scheduled() == 0


def test_running_job_stops_when_cancelled(runner: JobRunner) -> None:
    job_id = _submit(runner, "test.slow", steps=500, step_s=0.01)
    worker = threading.Thread(target=_run_next, args=(runner,))
    worker.start()
    deadline = time.monotonic() + 10
    while _get(runner, job_id).status != "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    with runner.session_factory() as session:
        assert service.cancel_job(session=session, job_id=job_id).status == "running"
    worker.join(timeout=10)
    assert not worker.is_alive()
    job = _get(runner, job_id)
    assert job.status == "cancelled"
    assert 0 < job.progress.done < 500  # stopped part-way, at a progress write
    assert "cancelled" in job.log_tail


def test_progress_writes_are_throttled(runner: JobRunner, database_url: str) -> None:
    """200 progress calls in ~0.4 s produce a handful of writes, and the final state is exact."""
    from sqlalchemy import event

    engine = runner.session_factory.kw["bind"]
    updates: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith("UPDATE jobs SET progress_done"):
            updates.append(statement)

    job_id = _submit(runner, "test.slow", steps=200, step_s=0.002)
    event.listen(engine, "before_cursor_execute", count)
    try:
        _run_next(runner)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    job = _get(runner, job_id)
    assert job.status == "succeeded"
    assert (job.progress.done, job.progress.total, job.progress.message) == (200, 200, "done")
    assert 1 <= len(updates) <= 5
    assert job.log_tail.endswith("step 199\n")


def test_type_unknown_to_this_worker_fails_clearly(
    runner: JobRunner, session_factory: sessionmaker[Session]
) -> None:
    job_id = _submit(runner, "test.record")
    runner.registry = JobRegistry()  # a worker without AIHARNESS_JOBS__MODULES
    _run_next(runner)
    job = _get(runner, job_id)
    assert job.status == "failed"
    assert job.error is not None
    assert "unknown job type 'test.record'" in job.error
    assert "AIHARNESS_JOBS__MODULES" in job.error


def test_duplicate_messages_run_a_job_once(runner: JobRunner) -> None:
    job_id = _submit(runner, "test.record", value=1)
    runner.queues.get("default").dispatch(job_id)  # e.g. a sweep re-sent it
    _run_next(runner)
    _run_next(runner)
    with runner.session_factory() as session:
        executions = session.scalar(select(func.count()).select_from(handlers.runs))
    assert executions == 1
    assert _get(runner, job_id).attempts == 1


def test_periodic_jobs_are_submitted_once_per_minute_across_workers(
    tmp_path: Path, database_url: str, sqlite_queue_url: str
) -> None:
    from aiharness.jobs.registry import NoParams, job_type
    from aiharness.jobs.worker import WorkerProcess

    registry = JobRegistry()

    @job_type("tick", params=NoParams, schedule="* * * * *", target=registry)
    def tick(_ctx: object, _params: NoParams) -> None:
        return None

    settings = jobs_settings(tmp_path, database_url, sqlite_queue_url)
    with jobs_platform(settings) as first, jobs_platform(settings) as second:
        workers = [WorkerProcess(p, registry=registry) for p in (first, second)]
        minute = datetime(2026, 5, 1, 8, 30, 5, tzinfo=UTC)
        for worker in workers:
            worker.maintenance.submit_periodic(minute)
            worker.maintenance.submit_periodic(minute)  # same minute again: nothing new
        with first.unit_of_work() as session:
            page = service.list_jobs(session=session, job_type="tick")
        assert page.total == 1
