"""The worker process: a Huey consumer (threads) that runs job handlers, plus a maintenance
thread for heartbeats, cancellation, orphan recovery, lost-message re-dispatch and schedules.

``InlineWorker`` runs given jobs in a CLI process that has no worker to hand them to; it uses
the same runner and heartbeat, so the rest of the system sees an ordinary worker.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import traceback
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from aiharness import __version__
from aiharness.config import ConfigError
from aiharness.db.base import utcnow
from aiharness.jobs import lifecycle, service
from aiharness.jobs.context import JobCancelled, JobContext, JobLost
from aiharness.jobs.models import Job
from aiharness.jobs.queue import QueueHub, QueueUnavailable
from aiharness.jobs.registry import (
    JobRegistry,
    UnknownJobTypeError,
    parse_schedule,
)
from aiharness.jobs.registry import registry as default_registry
from aiharness.jobs.schemas import JobCreate
from aiharness.jobs.settings import JobsSettings
from aiharness.observability.logging import get_logger
from aiharness.platform import Platform

log = get_logger("aiharness.jobs.worker")


def make_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class JobRunner:
    """Runs one job id in a consumer thread: claim, validate, call the handler, record the end."""

    def __init__(
        self,
        *,
        platform: Platform,
        worker_id: str,
        registry: JobRegistry = default_registry,
    ) -> None:
        self.platform = platform
        self.session_factory = platform.session_factory
        self.queues = platform.get(QueueHub)
        self.registry = registry
        self.worker_id = worker_id
        self._lock = threading.Lock()
        self.current: set[str] = set()
        self.cancel_requested: set[str] = set()
        self.succeeded = 0
        self.failed = 0

    def __call__(self, job_id: str) -> None:
        with self.platform.unit_of_work() as session:
            claim = lifecycle.claim_job(session=session, job_id=job_id, worker_id=self.worker_id)
        if claim is None:
            return  # cancelled, already taken, finished, or a duplicate message
        with self._lock:
            self.current.add(job_id)
        try:
            self._run(claim)
        finally:
            with self._lock:
                self.current.discard(job_id)
                self.cancel_requested.discard(job_id)

    def snapshot(self) -> tuple[list[str], int, int]:
        """Running job ids and the succeeded/failed counters, for the heartbeat."""
        with self._lock:
            return sorted(self.current), self.succeeded, self.failed

    def request_cancel(self, job_ids: set[str]) -> None:
        with self._lock:
            self.cancel_requested |= job_ids & self.current

    def _cancel_flag(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self.cancel_requested

    def _run(self, claim: lifecycle.Claim) -> None:
        ctx = JobContext(
            claim=claim,
            platform=self.platform,
            cancel_flag=lambda: self._cancel_flag(claim.job_id),
        )
        try:
            job_type = self.registry.get(claim.type)
        except UnknownJobTypeError as exc:
            self._finish(ctx, "failed", error=f"{exc} (is it in AIHARNESS_JOBS__MODULES here?)")
            return
        try:
            params = job_type.parse_params(claim.params)
            raw = job_type.handler(ctx, params)
            result = raw.model_dump(mode="json") if isinstance(raw, BaseModel) else raw
        except JobCancelled:
            ctx.log("cancelled")
            self._finish(ctx, "cancelled", reason="cancelled while running")
        except JobLost:
            log.warning("job taken away from this worker", job_id=claim.job_id)
        except Exception as exc:
            detail = traceback.format_exc(limit=30)
            message = f"{type(exc).__name__}: {exc}"
            ctx.log(f"attempt {claim.attempt} failed: {message}")
            if job_type.is_permanent(exc) or claim.attempt >= claim.max_attempts:
                why = "permanent error" if job_type.is_permanent(exc) else "no attempts left"
                self._finish(ctx, "failed", error=message, trace=detail, reason=why)
            else:
                self._retry(ctx, job_type.backoff_s(claim.attempt), message, detail)
        else:
            if result is not None and not isinstance(result, dict):
                self._finish(
                    ctx,
                    "failed",
                    error=f"handler returned {type(result).__name__}; expected a dict or None",
                )
                return
            self._finish(ctx, "succeeded", result=result, reason=ctx.outcome_note)

    def _finish(
        self,
        ctx: JobContext,
        status: str,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        trace: str | None = None,
        reason: str | None = None,
    ) -> None:
        with self.platform.unit_of_work() as session:
            owned = lifecycle.finish_job(
                session=session,
                claim=ctx.claim,
                status=status,
                done=ctx.done,
                total=ctx.total,
                message=ctx.message,
                log_tail=ctx.log_tail(),
                result=result,
                error=error,
                error_traceback=trace,
                status_reason=reason,
            )
        if not owned:
            log.warning("finished a job this worker no longer owned", job_id=ctx.job_id)
            return
        with self._lock:
            if status == "succeeded":
                self.succeeded += 1
            elif status == "failed":
                self.failed += 1

    def _retry(self, ctx: JobContext, delay_s: float, message: str, trace: str) -> None:
        with self.platform.unit_of_work() as session:
            owned = lifecycle.schedule_retry(
                session=session,
                claim=ctx.claim,
                delay_s=delay_s,
                error=message,
                error_traceback=trace,
                log_tail=ctx.log_tail(),
            )
        if not owned:
            return
        try:
            self.queues.get(ctx.claim.queue).dispatch(ctx.job_id, delay_s=delay_s)
        except QueueUnavailable as exc:
            log.warning("retry not scheduled; the sweep will send it", error=str(exc))
            with self.platform.unit_of_work() as session:
                service.dispatch_pending(session=session, queues=self.queues, redispatch_after_s=0)


class Heartbeat:
    """Writes one worker's row: who it is, what it runs, its counters (workers and the CLI)."""

    def __init__(
        self,
        *,
        platform: Platform,
        runner: JobRunner,
        queue_name: str,
        concurrency: int,
    ) -> None:
        self.platform = platform
        self.runner = runner
        self.queue_name = queue_name
        self.concurrency = concurrency
        self.started_at = utcnow()

    @property
    def worker_id(self) -> str:
        return self.runner.worker_id

    def beat(self) -> None:
        """Record liveness; pass on cancellations users asked for of jobs running here."""
        current, succeeded, failed = self.runner.snapshot()
        with self.platform.unit_of_work() as session:
            lifecycle.heartbeat(
                session=session,
                worker_id=self.worker_id,
                host=socket.gethostname(),
                pid=os.getpid(),
                queue=self.queue_name,
                concurrency=self.concurrency,
                version=__version__,
                current_jobs=current,
                jobs_succeeded=succeeded,
                jobs_failed=failed,
                started_at=self.started_at,
            )
            if current:
                self.runner.request_cancel(
                    lifecycle.cancel_requests(session=session, worker_id=self.worker_id)
                )

    def stopped(self) -> list[str]:
        """Hand unfinished jobs back and mark this worker stopped; returns the released ids."""
        with self.platform.unit_of_work() as session:
            released = lifecycle.release_jobs(session=session, worker_id=self.worker_id)
            lifecycle.mark_stopped(session=session, worker_id=self.worker_id)
            if released:
                service.dispatch_pending(
                    session=session, queues=self.runner.queues, redispatch_after_s=3600
                )
        return released


class Maintenance(threading.Thread):
    """Heartbeat + sweeps every ``heartbeat_interval_s``; errors are logged, never fatal."""

    def __init__(self, worker: WorkerProcess) -> None:
        super().__init__(name="aiharness-maintenance", daemon=True)
        self.worker = worker
        self.stop_event = threading.Event()
        self._last_minute: datetime | None = None

    def run(self) -> None:
        interval = self.worker.jobs_settings.heartbeat_interval_s
        while not self.stop_event.is_set():
            self.tick()
            self.stop_event.wait(interval)

    def tick(self) -> None:
        for step in (self.beat, self.sweep, self.submit_periodic, self.watch_parent):
            try:
                step()
            except Exception:
                log.exception("maintenance step failed", step=step.__name__)

    def beat(self) -> None:
        self.worker.heartbeat.beat()

    def sweep(self) -> None:
        worker = self.worker
        jobs = worker.jobs_settings
        with worker.platform.unit_of_work() as session:
            service.recover_orphans(
                session=session,
                queues=worker.queues,
                heartbeat_timeout_s=jobs.heartbeat_timeout_s,
            )
            service.dispatch_pending(
                session=session,
                queues=worker.queues,
                redispatch_after_s=jobs.redispatch_after_s,
            )

    def submit_periodic(self, now: datetime | None = None) -> None:
        """Submit scheduled types due this minute; every worker tries, the dedupe key wins once."""
        minute = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
        if self._last_minute == minute:
            return
        self._last_minute = minute
        for job_type in self.worker.registry.periodic():
            assert job_type.schedule is not None
            if not parse_schedule(job_type.schedule)(minute.replace(tzinfo=None)):
                continue
            with self.worker.platform.unit_of_work() as session:
                created = service.submit_job(
                    session=session,
                    queues=self.worker.queues,
                    job_in=JobCreate(type=job_type.name),
                    registry=self.worker.registry,
                    dedupe_key=f"{job_type.name}@{minute:%Y-%m-%dT%H:%M}",
                )
            if created is not None:
                log.info("periodic job submitted", job_type=job_type.name, job_id=created.id)

    def watch_parent(self) -> None:
        """An embedded worker follows its parent: if `aiharness up` died, stop too."""
        parent = self.worker.parent_pid
        if parent is not None and os.getppid() != parent:
            log.warning("parent process is gone; stopping", parent_pid=parent)
            self.worker.request_stop()


class WorkerProcess:
    """``aiharness worker``: consume one queue with N threads until SIGTERM/SIGINT.

    Runs on a platform built with the ``worker`` role; the caller closes the platform."""

    def __init__(
        self,
        platform: Platform,
        *,
        concurrency: int | None = None,
        queue: str = "default",
        parent_pid: int | None = None,
        registry: JobRegistry = default_registry,
    ) -> None:
        self.platform = platform
        self.settings = platform.settings
        self.jobs_settings = JobsSettings.of(platform.settings)
        self.concurrency = concurrency or self.jobs_settings.worker_concurrency
        self.queue_name = queue
        self.parent_pid = parent_pid
        self.worker_id = make_worker_id()
        self.registry = registry
        self.queues = platform.get(QueueHub)
        self.runner = JobRunner(platform=platform, registry=registry, worker_id=self.worker_id)
        self.heartbeat = Heartbeat(
            platform=platform,
            runner=self.runner,
            queue_name=queue,
            concurrency=self.concurrency,
        )
        self.started_at = self.heartbeat.started_at
        self.maintenance = Maintenance(self)
        self._consumer: Any = None

    def check(self) -> None:
        """Fail with one clear line if the queue is down (the platform checked the schema)."""
        try:
            self.queues.get(self.queue_name).ping()
        except QueueUnavailable as exc:
            raise ConfigError(str(exc)) from None

    def request_stop(self) -> None:
        import signal

        os.kill(os.getpid(), signal.SIGTERM)

    def run(self) -> None:
        """Block until a stop signal; on the way out hand unfinished jobs back to the queue."""
        self.check()
        queue = self.queues.get(self.queue_name)
        queue.bind(self.runner)
        interval = self.jobs_settings.worker_poll_interval_s
        consumer = queue.huey.create_consumer(
            workers=self.concurrency,
            worker_type="thread",
            periodic=False,  # our schedules are submitted by Maintenance with a dedupe key
            initial_delay=min(0.01, interval),
            backoff=1.5,
            max_delay=interval,
            scheduler_interval=1,
            graceful_signal="TERM",
            shutdown_timeout=10.0,
        )
        self._consumer = consumer
        self.heartbeat.beat()
        self.platform.start()
        self.maintenance.start()
        log.info(
            "worker started",
            worker_id=self.worker_id,
            queue=self.queue_name,
            storage=self.queues.describe,
            concurrency=self.concurrency,
        )
        try:
            consumer.run()
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        self.maintenance.stop_event.set()
        self.maintenance.join(timeout=5)
        self.platform.stop()
        try:
            released = self.heartbeat.stopped()
            log.info("worker stopped", worker_id=self.worker_id, handed_back=len(released))
        except Exception:
            log.exception("worker could not record its stop")


class InlineWorker:
    """Runs given job ids in this process (the CLI when no worker is live), through the same
    runner, and heartbeats like a worker so that sweeps elsewhere do not take its jobs."""

    def __init__(self, platform: Platform, registry: JobRegistry = default_registry) -> None:
        self.platform = platform
        self.runner = JobRunner(platform=platform, registry=registry, worker_id=make_worker_id())
        self.heartbeat = Heartbeat(
            platform=platform, runner=self.runner, queue_name="cli", concurrency=1
        )
        self._stop = threading.Event()

    def start(self, ids: Sequence[str], *, follow_retries: bool = False) -> Callable[[], None]:
        """Run ``ids`` in a thread; returns a function that waits for them and stops.

        ``follow_retries``: run a failed attempt again when its retry is due, until the job ends.
        """
        interval = JobsSettings.of(self.platform.settings).heartbeat_interval_s

        def heartbeats() -> None:
            while not self._stop.wait(interval):
                with contextlib.suppress(Exception):  # a missed beat is not fatal
                    self.heartbeat.beat()

        def work() -> None:
            for job_id in ids:
                while not self._stop.is_set():
                    self.runner(job_id)
                    wait_s = self._retry_due_in(job_id) if follow_retries else None
                    if wait_s is None:
                        break
                    self._stop.wait(wait_s)

        self.heartbeat.beat()
        pulse = threading.Thread(target=heartbeats, name="cli-heartbeat", daemon=True)
        pulse.start()
        worker = threading.Thread(target=work, name="cli-jobs", daemon=True)
        worker.start()

        def finish() -> None:
            worker.join()
            self._stop.set()
            pulse.join(timeout=2)
            self.heartbeat.stopped()

        return finish

    def _retry_due_in(self, job_id: str) -> float | None:
        """Seconds until the job's next attempt is due; None unless it waits for a retry."""
        with self.platform.unit_of_work() as session:
            job = session.get(Job, job_id)
            if job is None or job.status != "retrying":
                return None
            due = job.run_at or utcnow()
        return max(0.0, (due - utcnow()).total_seconds())
