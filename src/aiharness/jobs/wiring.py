"""Plugs jobs into the platform: job types, the queue hub, the readiness check, metrics and
the embedded worker. Called once from ``build_platform``; connects to nothing."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from aiharness.db.base import utcnow
from aiharness.health.checks import CheckResult, DependencyCheck
from aiharness.jobs.metrics import JobsCollector
from aiharness.jobs.queue import QueueHub
from aiharness.jobs.registry import load_job_modules

if TYPE_CHECKING:
    from aiharness.platform import Platform


def install_jobs(platform: Platform) -> None:
    settings = platform.settings
    registry = load_job_modules(settings.job_modules)
    queues = QueueHub(settings.resolved_queue_url)
    platform.queues = queues
    platform.checks.append(queue_check(platform, queues))
    platform.metrics.registry.register(
        JobsCollector(
            session_factory=platform.session_factory,
            queues=queues,
            registry=registry,
            heartbeat_timeout_s=settings.heartbeat_timeout_s,
        )
    )
    if settings.worker_enabled:
        from aiharness.jobs.embedded import EmbeddedWorker

        platform.services.append(EmbeddedWorker(settings))


def queues_of(platform: Platform) -> QueueHub:
    queues = platform.queues
    if queues is None:  # a Platform built by hand (tests) without install_jobs
        queues = platform.queues = QueueHub(platform.settings.resolved_queue_url)
    return queues


def queue_check(platform: Platform, queues: QueueHub) -> DependencyCheck:
    """The queue answers; the detail also says how many workers have a fresh heartbeat."""
    from datetime import timedelta

    from aiharness.jobs.models import Worker

    def probe() -> CheckResult:
        detail = queues.get("default").ping()
        cutoff = utcnow() - timedelta(seconds=platform.settings.heartbeat_timeout_s)
        # Database trouble is the database check's to report; keep this one about the queue.
        with contextlib.suppress(Exception), platform.session_factory() as session:
            live = session.scalar(
                select(func.count())
                .select_from(Worker)
                .where(Worker.last_seen >= cutoff, Worker.stopped_at.is_(None))
            )
            detail += f"; {live or 'no'} live worker{'s' if live != 1 else ''}"
        return CheckResult.ok(detail)

    return DependencyCheck("queue", probe, required=True)
