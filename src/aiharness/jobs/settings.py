"""The ``jobs`` settings section: queue storage, workers, heartbeats, retention."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from aiharness.config import Section


class JobsSettings(Section):
    """Background jobs and workers."""

    key: ClassVar[str] = "jobs"
    legacy_names: ClassVar[dict[str, str]] = {
        "worker_enabled": "worker_enabled",
        "queue_url": "queue_url",
        "worker_concurrency": "worker_concurrency",
        "worker_poll_interval_s": "worker_poll_interval_s",
        "heartbeat_interval_s": "heartbeat_interval_s",
        "heartbeat_timeout_s": "heartbeat_timeout_s",
        "redispatch_after_s": "redispatch_after_s",
        "job_modules": "modules",
        "job_retention_days": "retention_days",
    }

    worker_enabled: bool = Field(
        True, description="Start the embedded worker inside `aiharness up`."
    )
    queue_url: str | None = Field(
        None,
        description=(
            "Job queue storage. Empty: SQLite file `queue.db` in the data dir. "
            "`redis://host:6379/0` or `postgresql://user@host/db` switch storage; "
            "`?prefix=name` keeps several installs apart on one server."
        ),
    )
    worker_concurrency: int = Field(
        2, ge=1, le=64, description="Job threads per worker process (`aiharness worker`)."
    )
    worker_poll_interval_s: float = Field(
        0.05,
        gt=0,
        le=10,
        description="Longest wait between polls of a non-blocking queue (SQLite).",
    )
    heartbeat_interval_s: float = Field(
        5.0, gt=0, description="Seconds between a worker's heartbeats and recovery sweeps."
    )
    heartbeat_timeout_s: float = Field(
        30.0,
        gt=0,
        description="A worker silent this long is dead; its running jobs are re-queued.",
    )
    redispatch_after_s: float = Field(
        30.0,
        gt=0,
        description="Queued jobs older than this while their queue is empty are dispatched again.",
    )
    modules: list[str] = Field(
        default_factory=list,
        description="Extra Python modules imported by API and workers to register job types.",
    )
    retention_days: int = Field(
        30, ge=1, description="Housekeeping deletes finished jobs older than this."
    )

    def resolved_queue_url(self, data_dir: Path) -> str:
        """The queue URL in force: the configured one or SQLite `queue.db` inside the data dir."""
        if self.queue_url:
            return self.queue_url
        return f"sqlite:///{(data_dir / 'queue.db').resolve()}"
