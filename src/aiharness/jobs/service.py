"""Jobs as users see them: submit, list, show, cancel, retry, workers; plus the recovery sweeps.

Our ``jobs`` row is the truth and is committed before anything reaches the queue, so a message
can be lost or duplicated without losing or repeating work (claims are conditional UPDATEs).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from aiharness.audit import record
from aiharness.db.base import utcnow
from aiharness.errors import Conflict, Invalid, NotFound
from aiharness.jobs.models import Job, Worker
from aiharness.jobs.queue import QueueHub, QueueUnavailable
from aiharness.jobs.registry import (
    InvalidJobParamsError,
    JobRegistry,
    UnknownJobTypeError,
)
from aiharness.jobs.registry import (
    registry as default_registry,
)
from aiharness.jobs.schemas import (
    TERMINAL_STATUSES,
    JobCreate,
    JobDetail,
    JobPage,
    JobProgress,
    JobPublic,
    WorkerList,
    WorkerPublic,
)
from aiharness.observability.logging import get_logger

log = get_logger("aiharness.jobs")


class JobConflictError(Conflict):
    """The job is not in a state that allows the action (e.g. retrying a running job)."""

    default_code = "job_state_conflict"


# -- shapes ------------------------------------------------------------------------------------
def _progress(job: Job, now: datetime) -> JobProgress:
    total = job.progress_total
    done = job.progress_done
    percent = round(min(done / total, 1.0) * 100, 1) if total else None
    rate = eta = None
    if job.started_at is not None and done > 0:
        end = job.finished_at or now
        elapsed = (end - job.started_at).total_seconds()
        if elapsed > 0:
            rate = round(done / elapsed, 3)
            if total is not None and job.status == "running" and total > done:
                eta = round((total - done) / rate, 1)
    return JobProgress(
        done=done,
        total=total,
        message=job.progress_message,
        percent=percent,
        rate_per_s=rate,
        eta_s=eta,
    )


def _fields(job: Job, now: datetime) -> dict[str, Any]:
    return {
        "id": job.id,
        "type": job.type,
        "queue": job.queue,
        "params": job.params,
        "status": job.status,
        "status_reason": job.status_reason,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "progress": _progress(job, now),
        "cancel_requested": job.cancel_requested,
        "worker_id": job.worker_id,
        "result": job.result,
        "error": job.error,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "run_at": job.run_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "duration_s": job.duration_s,
    }


def to_public(job: Job, now: datetime | None = None) -> JobPublic:
    return JobPublic(**_fields(job, now or utcnow()))


def to_detail(job: Job, now: datetime | None = None) -> JobDetail:
    return JobDetail(
        **_fields(job, now or utcnow()),
        error_traceback=job.error_traceback,
        log_tail=job.log_tail,
    )


# -- submit ------------------------------------------------------------------------------------
def new_job_id() -> str:
    return uuid.uuid4().hex


def _validated(registry: JobRegistry, job_in: JobCreate, dedupe_key: str | None) -> Job:
    """A new, unsaved job row; unknown types and bad parameters raise ``Invalid``."""
    try:
        job_type = registry.get(job_in.type)
        params = job_type.parse_params(job_in.params)
    except UnknownJobTypeError as exc:
        raise Invalid(
            str(exc), code="unknown_job_type", details={"known_types": registry.names()}
        ) from None
    except InvalidJobParamsError as exc:
        raise Invalid(str(exc), code="invalid_job_params", details=exc.problems) from None
    now = utcnow()
    return Job(
        id=new_job_id(),
        type=job_type.name,
        queue=job_type.queue,
        params=params.model_dump(mode="json"),
        status="queued",
        dedupe_key=dedupe_key,
        attempts=0,
        max_attempts=job_type.max_attempts,
        progress_done=0,
        progress_message="",
        cancel_requested=False,
        log_tail="",
        created_at=now,
        updated_at=now,
        run_at=now + timedelta(seconds=job_in.delay_s) if job_in.delay_s else None,
        # Optimistic: set with the insert (one write per submit); cleared if dispatch fails.
        dispatched_at=now,
    )


def submit_job(
    *,
    session: Session,
    queues: QueueHub,
    job_in: JobCreate,
    registry: JobRegistry = default_registry,
    dedupe_key: str | None = None,
    also: Callable[[Session, Job], object] | None = None,
) -> JobPublic | None:
    """Validate, record (committed), then dispatch. Returns None for a duplicate ``dedupe_key``.

    Unknown type or bad params raise before anything is stored. If the queue is unreachable the
    record stays ``queued`` with the reason; a worker's sweep dispatches it once the queue is back.
    ``also`` adds rows of the caller's (an audit entry) to the job's own transaction.
    """
    job = _validated(registry, job_in, dedupe_key)
    session.add(job)
    if also is not None:  # e.g. the audit row of what asked for the job: one transaction
        also(session, job)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        if dedupe_key is None:
            raise
        return None
    _dispatch_or_note(session=session, queues=queues, job=job, delay_s=job_in.delay_s)
    return to_public(job)


def submit_by_hand(*, session: Session, queues: QueueHub, job_in: JobCreate) -> JobPublic:
    """A job a person submitted (API, CLI): recorded in the audit log with the job."""
    job = submit_job(
        session=session,
        queues=queues,
        job_in=job_in,
        also=lambda session, job: record(
            session, action="jobs.submit", target=f"job:{job.id}", details={"type": job.type}
        ),
    )
    assert job is not None  # no dedupe key: never None
    return job


def submit_jobs(
    *,
    session: Session,
    queues: QueueHub,
    jobs_in: list[JobCreate],
    registry: JobRegistry = default_registry,
) -> list[JobPublic]:
    """Submit many jobs in one transaction (all validated first: one bad item stores none)."""
    jobs = [_validated(registry, job_in, None) for job_in in jobs_in]
    session.add_all(jobs)
    session.commit()
    for job, job_in in zip(jobs, jobs_in, strict=True):
        _dispatch_or_note(session=session, queues=queues, job=job, delay_s=job_in.delay_s)
    return [to_public(job) for job in jobs]


def _dispatch_or_note(*, session: Session, queues: QueueHub, job: Job, delay_s: float) -> None:
    try:
        queues.get(job.queue).dispatch(job.id, delay_s=delay_s)
    except QueueUnavailable as exc:
        log.warning("job not dispatched; queue down", job_id=job.id, reason=str(exc))
        reason = f"waiting for the queue: {exc}"
        session.execute(
            update(Job)
            .where(Job.id == job.id, Job.status.in_(("queued", "retrying")))
            .values(dispatched_at=None, status_reason=reason, updated_at=utcnow())
        )
        session.commit()
        session.refresh(job)


# -- read --------------------------------------------------------------------------------------
def list_jobs(
    *,
    session: Session,
    status: str | None = None,
    job_type: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> JobPage:
    """Newest first, optionally filtered by status and type."""
    query = select(Job)
    count = select(func.count()).select_from(Job)
    if status:
        query = query.where(Job.status == status)
        count = count.where(Job.status == status)
    if job_type:
        query = query.where(Job.type == job_type)
        count = count.where(Job.type == job_type)
    rows = session.scalars(
        query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit).offset(offset)
    ).all()
    now = utcnow()
    return JobPage(
        items=[to_public(row, now) for row in rows],
        total=session.scalar(count) or 0,
        limit=limit,
        offset=offset,
    )


def _load(session: Session, job_id: str) -> Job:
    # populate_existing: worker-side updates are Core statements that bypass the identity map.
    job = session.get(Job, job_id, populate_existing=True) if len(job_id) <= 32 else None
    if job is None:
        raise NotFound(f"job {job_id} does not exist")
    return job


def get_job(*, session: Session, job_id: str) -> JobDetail:
    return to_detail(_load(session, job_id))


def find_job_id(*, session: Session, prefix: str) -> str:
    """Resolve a unique id prefix (the CLI shows short ids) to the full id."""
    if len(prefix) >= 32:
        return prefix
    matches = session.scalars(select(Job.id).where(Job.id.startswith(prefix)).limit(2)).all()
    if not matches:
        raise NotFound(f"job {prefix} does not exist")
    if len(matches) > 1:
        raise Invalid(f"job id prefix {prefix!r} is ambiguous; give more characters")
    return matches[0]


# -- cancel / retry ----------------------------------------------------------------------------
def cancel_job(*, session: Session, job_id: str) -> JobPublic:
    """Waiting jobs are cancelled at once; a running job is asked to stop (cooperatively)."""
    job = _load(session, job_id)
    now, was = utcnow(), job.status
    if job.status in TERMINAL_STATUSES:
        raise JobConflictError(f"job {job_id} is already {job.status}; nothing to cancel")
    waiting = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(("queued", "retrying")))
        .values(
            status="cancelled",
            cancel_requested=True,
            status_reason="cancelled before it ran",
            finished_at=now,
            updated_at=now,
        )
    )
    if _rowcount(waiting) == 0:
        # It started meanwhile (or was running): ask the handler to stop at its next check.
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "running")
            .values(
                cancel_requested=True,
                status_reason="cancellation requested; the job stops at its next check",
                updated_at=now,
            )
        )
    record(
        session,
        action="jobs.cancel",
        target=f"job:{job_id}",
        details={"type": job.type, "was": was},
    )
    session.commit()
    session.refresh(job)
    return to_public(job)


def retry_job(
    *,
    session: Session,
    queues: QueueHub,
    job_id: str,
    registry: JobRegistry = default_registry,
) -> JobPublic:
    """Run a failed or cancelled job again with a fresh set of attempts."""
    job = _load(session, job_id)
    if job.status not in {"failed", "cancelled"}:
        raise JobConflictError(
            f"job {job_id} is {job.status}; only failed or cancelled jobs can be retried"
        )
    try:
        max_attempts = registry.get(job.type).max_attempts
    except UnknownJobTypeError as exc:
        raise Invalid(f"cannot retry job {job_id}: {exc}", code="unknown_job_type") from None
    now, was = utcnow(), job.status
    note = f"[{now:%Y-%m-%d %H:%M:%S}] manual retry after {job.status}: {job.error or '-'}\n"
    retried = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(("failed", "cancelled")))
        .values(
            status="queued",
            status_reason="retried by hand",
            attempts=0,
            max_attempts=max_attempts,
            cancel_requested=False,
            worker_id=None,
            result=None,
            error=None,
            progress_done=0,
            progress_message="",
            finished_at=None,
            duration_s=None,
            run_at=None,
            dispatched_at=now,
            updated_at=now,
            log_tail=(Job.log_tail + note),
        )
    )
    if _rowcount(retried) == 0:
        raise JobConflictError(f"job {job_id} changed state meanwhile; reload and try again")
    record(
        session,
        action="jobs.retry",
        target=f"job:{job_id}",
        details={"type": job.type, "was": was},
    )
    session.commit()
    session.refresh(job)
    _dispatch_or_note(session=session, queues=queues, job=job, delay_s=0.0)
    return to_public(job)


def _rowcount(result: Any) -> int:
    count: int = result.rowcount
    return count


# -- workers -----------------------------------------------------------------------------------
def worker_state(worker: Worker, now: datetime, heartbeat_timeout_s: float) -> str:
    if worker.stopped_at is not None:
        return "stopped"
    if (now - worker.last_seen).total_seconds() > heartbeat_timeout_s:
        return "dead"
    return "live"


def list_workers(
    *, session: Session, heartbeat_timeout_s: float, include_stopped: bool = True
) -> WorkerList:
    """Every worker that ever reported, live first; liveness comes from the heartbeat age."""
    now = utcnow()
    rows = session.scalars(select(Worker).order_by(Worker.last_seen.desc())).all()
    items = []
    for worker in rows:
        state = worker_state(worker, now, heartbeat_timeout_s)
        if state == "stopped" and not include_stopped:
            continue
        items.append(
            WorkerPublic(
                id=worker.id,
                host=worker.host,
                pid=worker.pid,
                queue=worker.queue,
                concurrency=worker.concurrency,
                version=worker.version,
                state=state,
                started_at=worker.started_at,
                last_seen=worker.last_seen,
                seen_s_ago=round((now - worker.last_seen).total_seconds(), 1),
                stopped_at=worker.stopped_at,
                current_jobs=list(worker.current_jobs or []),
                jobs_succeeded=worker.jobs_succeeded,
                jobs_failed=worker.jobs_failed,
            )
        )
    order = {"live": 0, "dead": 1, "stopped": 2}
    items.sort(key=lambda w: order[w.state])
    return WorkerList(
        items=items,
        live=sum(1 for w in items if w.state == "live"),
        dead=sum(1 for w in items if w.state == "dead"),
        heartbeat_timeout_s=heartbeat_timeout_s,
    )


# -- sweeps (run by every live worker; conditional updates make them safe to overlap) ----------
def recover_orphans(*, session: Session, queues: QueueHub, heartbeat_timeout_s: float) -> list[str]:
    """Re-queue jobs running on workers whose heartbeat is too old (or who stopped)."""
    now = utcnow()
    cutoff = now - timedelta(seconds=heartbeat_timeout_s)
    gone = select(Worker.id).where(or_(Worker.last_seen < cutoff, Worker.stopped_at.is_not(None)))
    known = select(Worker.id)
    rows = session.execute(
        select(Job.id, Job.worker_id, Job.attempts, Job.max_attempts, Job.queue).where(
            Job.status == "running",
            or_(Job.worker_id.in_(gone), Job.worker_id.not_in(known)),
        )
    ).all()
    recovered: list[str] = []
    for job_id, worker_id, attempts, max_attempts, _queue in rows:
        guard = (Job.id == job_id, Job.status == "running", Job.worker_id == worker_id)
        lost = f"worker {worker_id} stopped responding during attempt {attempts} of {max_attempts}"
        if attempts >= max_attempts:
            result = session.execute(
                update(Job)
                .where(*guard)
                .values(
                    status="failed",
                    error=f"{lost}; no attempts left",
                    status_reason=None,
                    worker_id=None,
                    finished_at=now,
                    updated_at=now,
                )
            )
        else:
            note = f"[{now:%H:%M:%S}] re-queued: {lost}\n"
            result = session.execute(
                update(Job)
                .where(*guard)
                .values(
                    status="queued",
                    status_reason=f"re-queued: {lost}",
                    log_tail=Job.log_tail + note,
                    worker_id=None,
                    run_at=None,
                    dispatched_at=now,
                    updated_at=now,
                )
            )
        session.commit()
        if _rowcount(result) == 1:
            log.warning("orphaned job recovered", job_id=job_id, worker_id=worker_id)
            if attempts < max_attempts:
                job = session.get(Job, job_id)
                if job is not None:
                    _dispatch_or_note(session=session, queues=queues, job=job, delay_s=0.0)
                recovered.append(job_id)
    return recovered


def dispatch_pending(*, session: Session, queues: QueueHub, redispatch_after_s: float) -> int:
    """Send jobs the queue never got: undispatched ones, and old ones whose queue is empty.

    Messages can be lost (queue down at submit, a worker killed between pop and claim, a queue
    store wiped); a duplicate message is harmless because the claim is conditional.
    """
    now = utcnow()
    sent = 0
    waiting = ("queued", "retrying")
    undispatched = session.execute(
        select(Job.id, Job.run_at).where(Job.status.in_(waiting), Job.dispatched_at.is_(None))
    ).all()
    stale_cutoff = now - timedelta(seconds=redispatch_after_s)
    stale_by_queue: dict[str, list[tuple[str, datetime | None]]] = {}
    for job_id, queue, run_at in session.execute(
        select(Job.id, Job.queue, Job.run_at).where(
            Job.status.in_(waiting),
            Job.dispatched_at < stale_cutoff,
            or_(Job.run_at.is_(None), Job.run_at < stale_cutoff),
        )
    ).all():
        stale_by_queue.setdefault(queue, []).append((job_id, run_at))
    candidates: list[tuple[str, datetime | None, datetime | None]] = [
        (job_id, run_at, None) for job_id, run_at in undispatched
    ]
    for queue, jobs in stale_by_queue.items():
        if queues.get(queue).pending() == 0:
            candidates.extend((job_id, run_at, stale_cutoff) for job_id, run_at in jobs)
    for job_id, run_at, older_than in candidates:
        claim = (
            Job.dispatched_at.is_(None) if older_than is None else Job.dispatched_at < older_than
        )
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.in_(waiting), claim)
            .values(dispatched_at=now, status_reason=None)
        )
        session.commit()
        if _rowcount(result) != 1:
            continue  # another worker's sweep sent it
        job = session.get(Job, job_id)
        if job is None:
            continue
        delay = max((run_at - now).total_seconds(), 0.0) if run_at else 0.0
        _dispatch_or_note(session=session, queues=queues, job=job, delay_s=delay)
        sent += 1
    return sent


def purge_finished(*, session: Session, older_than: datetime) -> int:
    """Delete finished jobs and long-gone worker rows older than ``older_than``."""
    from sqlalchemy import delete

    jobs = session.execute(
        delete(Job).where(Job.status.in_(tuple(TERMINAL_STATUSES)), Job.updated_at < older_than)
    )
    session.execute(delete(Worker).where(Worker.last_seen < older_than))
    session.commit()
    return _rowcount(jobs)
