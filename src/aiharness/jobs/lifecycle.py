"""Worker-side state changes of a job: claim, progress, finish, retry; and heartbeats.

Every change after the claim is guarded by (status='running', worker_id, attempts): once a job
has been re-queued by the orphan sweep, the old worker's late writes change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, or_, select, update
from sqlalchemy.orm import Session

from aiharness.db.base import utcnow
from aiharness.jobs.models import Job, Worker


@dataclass(frozen=True)
class Claim:
    """A job this worker now owns for one attempt."""

    job_id: str
    type: str
    queue: str
    params: dict[str, Any]
    attempt: int
    max_attempts: int
    worker_id: str
    started_at: datetime
    progress_total: int | None
    # Earlier attempts' log (retries, recoveries); this attempt appends to it.
    log_tail: str = ""


def _guard(claim: Claim) -> tuple[Any, ...]:
    return (
        Job.id == claim.job_id,
        Job.status == "running",
        Job.worker_id == claim.worker_id,
        Job.attempts == claim.attempt,
    )


# The per-job statements are built once with bind parameters, on the Core table: no ORM
# session synchronisation and no statement construction per job (measurably cheaper per job).
JOBS: Table = Job.__table__  # type: ignore[assignment]
_GUARD = (
    JOBS.c.id == bindparam("b_job_id"),
    JOBS.c.status == "running",
    JOBS.c.worker_id == bindparam("b_worker_id"),
    JOBS.c.attempts == bindparam("b_attempt"),
)
_CLAIM = (
    update(JOBS)
    .where(
        JOBS.c.id == bindparam("b_job_id"),
        JOBS.c.status.in_(("queued", "retrying")),
        JOBS.c.cancel_requested.is_(False),
        # A message may come early only if it is a duplicate; the real one is scheduled.
        or_(JOBS.c.run_at.is_(None), JOBS.c.run_at <= bindparam("b_due_by")),
    )
    .values(
        status="running",
        attempts=JOBS.c.attempts + 1,
        worker_id=bindparam("b_worker_id"),
        started_at=bindparam("b_now"),
        updated_at=bindparam("b_now"),
        status_reason=None,
        progress_done=0,
    )
    .returning(
        JOBS.c.type,
        JOBS.c.queue,
        JOBS.c.params,
        JOBS.c.attempts,
        JOBS.c.max_attempts,
        JOBS.c.progress_total,
        JOBS.c.log_tail,
    )
)
_FINISH = (
    update(JOBS)
    .where(*_GUARD)
    .values(
        status=bindparam("b_status"),
        result=bindparam("b_result"),
        error=bindparam("b_error"),
        error_traceback=bindparam("b_error_traceback"),
        status_reason=bindparam("b_status_reason"),
        progress_done=bindparam("b_done"),
        progress_total=bindparam("b_total"),
        progress_message=bindparam("b_message"),
        log_tail=bindparam("b_log_tail"),
        finished_at=bindparam("b_now"),
        updated_at=bindparam("b_now"),
        duration_s=bindparam("b_duration_s"),
    )
)
_PROGRESS = (
    update(JOBS)
    .where(*_GUARD)
    .values(
        progress_done=bindparam("b_done"),
        progress_total=bindparam("b_total"),
        progress_message=bindparam("b_message"),
        log_tail=bindparam("b_log_tail"),
        updated_at=bindparam("b_now"),
    )
    .returning(JOBS.c.cancel_requested)
)


def _guard_params(claim: Claim) -> dict[str, Any]:
    return {"b_job_id": claim.job_id, "b_worker_id": claim.worker_id, "b_attempt": claim.attempt}


def claim_job(*, session: Session, job_id: str, worker_id: str) -> Claim | None:
    """Take a waiting job for this worker; None if it is gone, cancelled, taken or not yet due."""
    now = utcnow()
    row = session.execute(
        _CLAIM,
        {
            "b_job_id": job_id,
            "b_worker_id": worker_id,
            "b_now": now,
            "b_due_by": now + timedelta(seconds=1),
        },
    ).first()
    session.commit()
    if row is None:
        return None
    return Claim(
        job_id=job_id,
        type=row.type,
        queue=row.queue,
        params=row.params or {},
        attempt=row.attempts,
        max_attempts=row.max_attempts,
        worker_id=worker_id,
        started_at=now,
        progress_total=row.progress_total,
        log_tail=row.log_tail or "",
    )


def write_progress(
    *,
    session: Session,
    claim: Claim,
    done: int,
    total: int | None,
    message: str,
    log_tail: str,
) -> bool | None:
    """Store progress; returns whether cancellation was requested (None: no longer ours)."""
    row = session.execute(
        _PROGRESS,
        {
            **_guard_params(claim),
            "b_done": done,
            "b_total": total,
            "b_message": message[:500],
            "b_log_tail": log_tail,
            "b_now": utcnow(),
        },
    ).first()
    session.commit()
    return None if row is None else bool(row[0])


def finish_job(
    *,
    session: Session,
    claim: Claim,
    status: str,
    done: int,
    total: int | None,
    message: str,
    log_tail: str,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    error_traceback: str | None = None,
    status_reason: str | None = None,
) -> bool:
    """Record the attempt's end (succeeded, failed or cancelled); False if the job is not ours."""
    now = utcnow()
    outcome = session.execute(
        _FINISH,
        {
            **_guard_params(claim),
            "b_status": status,
            "b_result": result,
            "b_error": error,
            "b_error_traceback": error_traceback,
            "b_status_reason": status_reason,
            "b_done": done,
            "b_total": total,
            "b_message": message[:500],
            "b_log_tail": log_tail,
            "b_now": now,
            "b_duration_s": (now - claim.started_at).total_seconds(),
        },
    )
    session.commit()
    return getattr(outcome, "rowcount", 0) == 1


def schedule_retry(
    *,
    session: Session,
    claim: Claim,
    delay_s: float,
    error: str,
    error_traceback: str,
    log_tail: str,
) -> bool:
    """Park the job as ``retrying`` until ``now + delay_s``; the caller then dispatches it."""
    now = utcnow()
    outcome = session.execute(
        update(Job)
        .where(*_guard(claim))
        .values(
            status="retrying",
            worker_id=None,
            error=error,
            error_traceback=error_traceback,
            log_tail=log_tail,
            status_reason=(
                f"attempt {claim.attempt} of {claim.max_attempts} failed; "
                f"next attempt in {delay_s:.1f} s"
            ),
            run_at=now + timedelta(seconds=delay_s),
            dispatched_at=now,
            duration_s=(now - claim.started_at).total_seconds(),
            updated_at=now,
        )
    )
    session.commit()
    return getattr(outcome, "rowcount", 0) == 1


def release_jobs(*, session: Session, worker_id: str) -> list[str]:
    """A stopping worker hands its unfinished jobs back; the interrupted attempt is not counted."""
    now = utcnow()
    ids = list(
        session.scalars(
            select(Job.id).where(Job.status == "running", Job.worker_id == worker_id)
        ).all()
    )
    released = []
    for job_id in ids:
        outcome = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "running", Job.worker_id == worker_id)
            .values(
                status="queued",
                worker_id=None,
                attempts=Job.attempts - 1,
                status_reason=f"handed back by stopping worker {worker_id}",
                dispatched_at=None,
                updated_at=now,
            )
        )
        if getattr(outcome, "rowcount", 0) == 1:
            released.append(job_id)
    session.commit()
    return released


def cancel_requests(*, session: Session, worker_id: str) -> set[str]:
    """Ids of this worker's running jobs whose cancellation was asked for."""
    return set(
        session.scalars(
            select(Job.id).where(
                Job.status == "running", Job.worker_id == worker_id, Job.cancel_requested
            )
        ).all()
    )


def heartbeat(
    *,
    session: Session,
    worker_id: str,
    host: str,
    pid: int,
    queue: str,
    concurrency: int,
    version: str,
    current_jobs: list[str],
    jobs_succeeded: int,
    jobs_failed: int,
    started_at: datetime,
) -> None:
    """Upsert this worker's row (only this worker writes it, so UPDATE-then-INSERT is safe)."""
    now = utcnow()
    values = {
        "last_seen": now,
        "current_jobs": current_jobs,
        "jobs_succeeded": jobs_succeeded,
        "jobs_failed": jobs_failed,
    }
    outcome = session.execute(update(Worker).where(Worker.id == worker_id).values(**values))
    if getattr(outcome, "rowcount", 0) == 0:
        session.add(
            Worker(
                id=worker_id,
                host=host,
                pid=pid,
                queue=queue,
                concurrency=concurrency,
                version=version,
                started_at=started_at,
                stopped_at=None,
                **values,
            )
        )
    session.commit()


def mark_stopped(*, session: Session, worker_id: str) -> None:
    now = utcnow()
    session.execute(
        update(Worker)
        .where(Worker.id == worker_id)
        .values(stopped_at=now, last_seen=now, current_jobs=[])
    )
    session.commit()
