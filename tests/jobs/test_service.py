"""Job service on real databases (SQLite file and PostgreSQL) and a real SQLite queue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from aiharness.db.base import utcnow
from aiharness.errors import Conflict, DomainError, Invalid, NotFound
from aiharness.jobs import lifecycle, service
from aiharness.jobs.models import Job, Worker
from aiharness.jobs.queue import QueueHub
from aiharness.jobs.schemas import JobCreate

pytestmark = pytest.mark.integration


def _count_jobs(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Job)) or 0


def _submit(session: Session, hub: QueueHub, job_type: str = "noop", **params: object) -> str:
    job = service.submit_job(
        session=session, queues=hub, job_in=JobCreate(type=job_type, params=dict(params))
    )
    assert job is not None
    return job.id


def _beat(session: Session, worker_id: str, seen_s_ago: float = 0.0) -> None:
    lifecycle.heartbeat(
        session=session,
        worker_id=worker_id,
        host="test",
        pid=1,
        queue="default",
        concurrency=1,
        version="0",
        current_jobs=[],
        jobs_succeeded=0,
        jobs_failed=0,
        started_at=utcnow(),
    )
    if seen_s_ago:
        session.execute(
            update(Worker)
            .where(Worker.id == worker_id)
            .values(last_seen=utcnow() - timedelta(seconds=seen_s_ago))
        )
        session.commit()


def test_submit_records_and_dispatches(
    session_factory: sessionmaker[Session], hub: QueueHub
) -> None:
    with session_factory() as session:
        job = service.submit_job(
            session=session,
            queues=hub,
            job_in=JobCreate(type="test.record", params={"value": 7}),
        )
        assert job is not None
        assert (job.status, job.attempts, job.max_attempts) == ("queued", 0, 5)
        assert job.params == {"value": 7, "sleep_s": 0.0}  # validated and normalised
    assert hub.get("default").receive() == job.id


@pytest.mark.parametrize(
    ("job_in", "code", "needle"),
    [
        (JobCreate(type="no.such.type"), "unknown_job_type", "unknown job type 'no.such.type'"),
        (JobCreate(type="test.record", params={"value": "x"}), "invalid_job_params", "value"),
        (JobCreate(type="test.record", params={"sleep_s": -1}), "invalid_job_params", "sleep_s"),
    ],
)
def test_bad_submissions_store_and_enqueue_nothing(
    session_factory: sessionmaker[Session],
    hub: QueueHub,
    job_in: JobCreate,
    code: str,
    needle: str,
) -> None:
    with session_factory() as session:
        with pytest.raises(Invalid) as info:
            service.submit_job(session=session, queues=hub, job_in=job_in)
        assert info.value.code == code
        assert needle in info.value.message
        assert _count_jobs(session) == 0
    assert hub.get("default").pending() == 0


def test_queue_down_keeps_the_job_queued_with_a_reason_then_the_sweep_sends_it(
    session_factory: sessionmaker[Session], hub: QueueHub
) -> None:
    down = QueueHub("redis://127.0.0.1:1/0")
    with session_factory() as session:
        job_id = _submit(session, down)
        job = service.get_job(session=session, job_id=job_id)
        assert job.status == "queued"
        assert job.status_reason is not None
        assert "waiting for the queue" in job.status_reason
        assert "redis 127.0.0.1:1" in job.status_reason
        # The queue is back (here: the working one); any worker's sweep dispatches it once.
        assert service.dispatch_pending(session=session, queues=hub, redispatch_after_s=60) == 1
        assert service.dispatch_pending(session=session, queues=hub, redispatch_after_s=60) == 0
        assert service.get_job(session=session, job_id=job_id).status_reason is None
    down.close()
    assert hub.get("default").receive() == job_id


def test_lost_messages_are_sent_again_once_the_queue_is_empty(
    session_factory: sessionmaker[Session], hub: QueueHub
) -> None:
    queue = hub.get("default")
    with session_factory() as session:
        job_id = _submit(session, hub)
        assert queue.receive() == job_id  # popped by a worker that then died before claiming
        assert service.dispatch_pending(session=session, queues=hub, redispatch_after_s=30) == 0
        session.execute(
            update(Job).values(dispatched_at=utcnow() - timedelta(seconds=31))
        )  # time passes
        session.commit()
        queue.dispatch("someone-else")  # a busy queue: the job may still be in it
        assert service.dispatch_pending(session=session, queues=hub, redispatch_after_s=30) == 0
        assert queue.receive() == "someone-else"
        assert service.dispatch_pending(session=session, queues=hub, redispatch_after_s=30) == 1
    assert queue.receive() == job_id


def test_cancel_waiting_job_is_immediate_and_final(
    session_factory: sessionmaker[Session], hub: QueueHub
) -> None:
    with session_factory() as session:
        job_id = _submit(session, hub)
        job = service.cancel_job(session=session, job_id=job_id)
        assert job.status == "cancelled"
        assert lifecycle.claim_job(session=session, job_id=job_id, worker_id="w") is None
        with pytest.raises(Conflict):
            service.cancel_job(session=session, job_id=job_id)


def test_cancel_running_job_only_requests_it(
    session_factory: sessionmaker[Session], hub: QueueHub
) -> None:
    with session_factory() as session:
        job_id = _submit(session, hub)
        assert lifecycle.claim_job(session=session, job_id=job_id, worker_id="w1") is not None
        job = service.cancel_job(session=session, job_id=job_id)
        assert (job.status, job.cancel_requested) == ("running", True)
        assert lifecycle.cancel_requests(session=session, worker_id="w1") == {job_id}


def test_retry_only_failed_or_cancelled_and_resets_attempts(
    session_factory: sessionmaker[Session], hub: QueueHub
) -> None:
    with session_factory() as session:
        job_id = _submit(session, hub, "test.record")
        with pytest.raises(Conflict):
            service.retry_job(session=session, queues=hub, job_id=job_id)
        claim = lifecycle.claim_job(session=session, job_id=job_id, worker_id="w1")
        assert claim is not None
        assert lifecycle.finish_job(
            session=session,
            claim=claim,
            status="failed",
            done=0,
            total=None,
            message="",
            log_tail="",
            error="ValueError: boom",
        )
        job = service.retry_job(session=session, queues=hub, job_id=job_id)
        assert (job.status, job.attempts, job.error) == ("queued", 0, None)
        detail = service.get_job(session=session, job_id=job_id)
        assert "manual retry after failed: ValueError: boom" in detail.log_tail


def test_unknown_job_id_is_404(session_factory: sessionmaker[Session], hub: QueueHub) -> None:
    with session_factory() as session:
        for call in (
            lambda: service.get_job(session=session, job_id="nope"),
            lambda: service.cancel_job(session=session, job_id="nope"),
            lambda: service.retry_job(session=session, queues=hub, job_id="x" * 40),
        ):
            with pytest.raises(NotFound):
                call()  # type: ignore[no-untyped-call]


def test_list_filters_and_pages(session_factory: sessionmaker[Session], hub: QueueHub) -> None:
    with session_factory() as session:
        ids = [_submit(session, hub) for _ in range(5)]
        _submit(session, hub, "sleep", seconds=1)
        service.cancel_job(session=session, job_id=ids[0])
        assert service.list_jobs(session=session).total == 6
        assert service.list_jobs(session=session, job_type="noop").total == 5
        cancelled = service.list_jobs(session=session, status="cancelled")
        assert [j.id for j in cancelled.items] == [ids[0]]
        page = service.list_jobs(session=session, job_type="noop", limit=2, offset=2)
        assert len(page.items) == 2
        assert service.find_job_id(session=session, prefix=ids[1][:10]) == ids[1]


def test_dedupe_key_submits_once(session_factory: sessionmaker[Session], hub: QueueHub) -> None:
    with session_factory() as session:
        first = service.submit_job(
            session=session, queues=hub, job_in=JobCreate(type="noop"), dedupe_key="k@1"
        )
        second = service.submit_job(
            session=session, queues=hub, job_in=JobCreate(type="noop"), dedupe_key="k@1"
        )
        assert first is not None
        assert second is None
        assert _count_jobs(session) == 1


def test_orphan_of_a_dead_worker_is_requeued_once_and_counted(
    session_factory: sessionmaker[Session], hub: QueueHub
) -> None:
    with session_factory() as session:
        job_id = _submit(session, hub, "test.record")
        hub.get("default").flush()
        _beat(session, "dead-worker")
        assert lifecycle.claim_job(session=session, job_id=job_id, worker_id="dead-worker")
        # Alive: nothing to recover.
        assert service.recover_orphans(session=session, queues=hub, heartbeat_timeout_s=5) == []
        _beat(session, "dead-worker", seen_s_ago=10)
        first = service.recover_orphans(session=session, queues=hub, heartbeat_timeout_s=5)
        second = service.recover_orphans(session=session, queues=hub, heartbeat_timeout_s=5)
        assert (first, second) == ([job_id], [])
        job = service.get_job(session=session, job_id=job_id)
        assert (job.status, job.attempts, job.worker_id) == ("queued", 1, None)
        assert job.status_reason is not None
        assert "dead-worker stopped responding" in job.status_reason
        assert hub.get("default").receive() == job_id
        # The dead worker's late write changes nothing.
        stale = lifecycle.Claim(
            job_id=job_id,
            type="test.record",
            queue="default",
            params={},
            attempt=1,
            max_attempts=5,
            worker_id="dead-worker",
            started_at=utcnow(),
            progress_total=None,
        )
        assert not lifecycle.finish_job(
            session=session,
            claim=stale,
            status="succeeded",
            done=0,
            total=None,
            message="",
            log_tail="",
        )
        workers = service.list_workers(session=session, heartbeat_timeout_s=5)
        assert [(w.id, w.state) for w in workers.items] == [("dead-worker", "dead")]
        assert (workers.live, workers.dead) == (0, 1)


def test_orphan_without_attempts_left_fails_with_the_reason(
    session_factory: sessionmaker[Session], hub: QueueHub
) -> None:
    with session_factory() as session:
        job_id = _submit(session, hub, "noop")  # max_attempts=1
        _beat(session, "w-gone")
        assert lifecycle.claim_job(session=session, job_id=job_id, worker_id="w-gone")
        _beat(session, "w-gone", seen_s_ago=60)
        assert service.recover_orphans(session=session, queues=hub, heartbeat_timeout_s=5) == []
        job = service.get_job(session=session, job_id=job_id)
        assert job.status == "failed"
        assert job.error is not None
        assert "no attempts left" in job.error


def test_stopping_worker_hands_jobs_back_without_counting(
    session_factory: sessionmaker[Session], hub: QueueHub
) -> None:
    with session_factory() as session:
        job_id = _submit(session, hub, "test.record")
        hub.get("default").flush()
        assert lifecycle.claim_job(session=session, job_id=job_id, worker_id="w1")
        assert lifecycle.release_jobs(session=session, worker_id="w1") == [job_id]
        job = service.get_job(session=session, job_id=job_id)
        assert (job.status, job.attempts) == ("queued", 0)
        assert service.dispatch_pending(session=session, queues=hub, redispatch_after_s=60) == 1


def test_progress_rate_and_eta_are_derived(
    session_factory: sessionmaker[Session], hub: QueueHub
) -> None:
    with session_factory() as session:
        job_id = _submit(session, hub, "test.slow")
        claim = lifecycle.claim_job(session=session, job_id=job_id, worker_id="w")
        assert claim is not None
        session.execute(
            update(Job).values(started_at=utcnow() - timedelta(seconds=10))
        )  # ten seconds in
        session.commit()
        assert (
            lifecycle.write_progress(
                session=session, claim=claim, done=25, total=100, message="quarter", log_tail=""
            )
            is False
        )
        progress = service.get_job(session=session, job_id=job_id).progress
        assert progress.percent == 25.0
        assert progress.rate_per_s is not None
        assert 2.0 < progress.rate_per_s < 3.0
        assert progress.eta_s is not None
        assert 25 < progress.eta_s < 40


def test_submit_jobs_is_all_or_nothing(
    session_factory: sessionmaker[Session], hub: QueueHub
) -> None:
    with session_factory() as session:
        with pytest.raises(DomainError):
            service.submit_jobs(
                session=session,
                queues=hub,
                jobs_in=[JobCreate(type="noop"), JobCreate(type="missing")],
            )
        assert _count_jobs(session) == 0
        jobs = service.submit_jobs(
            session=session, queues=hub, jobs_in=[JobCreate(type="noop") for _ in range(3)]
        )
        assert [j.status for j in jobs] == ["queued"] * 3
    queue = hub.get("default")
    assert [queue.receive() for _ in range(3)] == [j.id for j in jobs]
