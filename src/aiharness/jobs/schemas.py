"""API shapes for jobs and workers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled", "retrying"]
JOB_STATUSES: tuple[str, ...] = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
    "retrying",
)
TERMINAL_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
WorkerState = Literal["live", "dead", "stopped"]


class JobCreate(BaseModel):
    type: str = Field(min_length=1, max_length=128, description="A registered job type.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Checked by the job type; unknown names are refused."
    )
    delay_s: float = Field(0.0, ge=0, le=366 * 24 * 3600, description="Run no sooner than this.")


class JobProgress(BaseModel):
    done: int
    total: int | None
    message: str
    percent: float | None = Field(description="done/total x 100 when the total is known.")
    rate_per_s: float | None = Field(description="Items per second since this attempt started.")
    eta_s: float | None = Field(description="Seconds left at the current rate.")


class JobPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    type: str
    queue: str
    params: dict[str, Any]
    status: JobStatus
    status_reason: str | None
    attempts: int
    max_attempts: int
    progress: JobProgress
    cancel_requested: bool
    worker_id: str | None
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    run_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None


class JobDetail(JobPublic):
    error_traceback: str | None = Field(description="Kept for operators; not shown to end users.")
    log_tail: str


class JobPage(BaseModel):
    items: list[JobPublic]
    total: int
    limit: int
    offset: int


class WorkerPublic(BaseModel):
    id: str
    host: str
    pid: int
    queue: str
    concurrency: int
    version: str
    state: WorkerState
    started_at: datetime
    last_seen: datetime
    seen_s_ago: float
    stopped_at: datetime | None
    current_jobs: list[str]
    jobs_succeeded: int
    jobs_failed: int


class WorkerList(BaseModel):
    items: list[WorkerPublic]
    live: int
    dead: int
    heartbeat_timeout_s: float
