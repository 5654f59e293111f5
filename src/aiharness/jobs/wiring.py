"""Plugs jobs into the platform: job types, the queue hub, the readiness check, metrics and
the embedded worker. Connects to nothing while building."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import func, select

from aiharness.db.base import utcnow
from aiharness.health.checks import CheckResult, DependencyCheck
from aiharness.jobs.metrics import JobsCollector
from aiharness.jobs.queue import QueueHub
from aiharness.jobs.registry import load_job_modules
from aiharness.jobs.settings import JobsSettings
from aiharness.platform import BackgroundService, Platform


def install_jobs(platform: Platform) -> QueueHub:
    """Register every installed feature's job types and open (lazily) the queue storage."""
    settings = platform.settings
    jobs = JobsSettings.of(settings)
    modules = [module for feature in platform.features for module in feature.jobs]
    registry = load_job_modules([*modules, *jobs.modules])
    queues = QueueHub(jobs.resolved_queue_url(settings.data_dir))
    platform.metrics.registry.register(
        JobsCollector(
            session_factory=platform.session_factory,
            queues=queues,
            registry=registry,
            heartbeat_timeout_s=jobs.heartbeat_timeout_s,
        )
    )
    return queues


def jobs_checks(platform: Platform) -> Sequence[DependencyCheck]:
    return [queue_check(platform, platform.get(QueueHub))]


def jobs_services(platform: Platform) -> Sequence[BackgroundService]:
    """The API process supervises an embedded worker unless workers run elsewhere."""
    if platform.role == "api" and JobsSettings.of(platform.settings).worker_enabled:
        from aiharness.jobs.embedded import EmbeddedWorker

        return [EmbeddedWorker(platform.settings)]
    return []


def queue_check(platform: Platform, queues: QueueHub) -> DependencyCheck:
    """The queue answers; the detail also says how many workers have a fresh heartbeat."""
    from aiharness.jobs.models import Worker

    timeout_s = JobsSettings.of(platform.settings).heartbeat_timeout_s

    def probe() -> CheckResult:
        detail = queues.get("default").ping()
        cutoff = utcnow() - timedelta(seconds=timeout_s)
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
