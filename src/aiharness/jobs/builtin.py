"""Built-in job types: ``noop`` (benchmarks, smoke tests), ``sleep`` (a demo with progress and
cancellation) and ``housekeeping`` (periodic: deletes finished jobs past the retention)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field

from aiharness.db.base import utcnow
from aiharness.jobs.context import JobContext
from aiharness.jobs.registry import NoParams, job_type
from aiharness.jobs.service import purge_finished
from aiharness.jobs.settings import JobsSettings


class NoopParams(BaseModel):
    note: str = Field("", max_length=200, description="Echoed back in the result.")


@job_type("noop", params=NoopParams, max_attempts=1)
def noop(ctx: JobContext, params: NoopParams) -> dict[str, Any]:
    """Does nothing; measures the queue itself."""
    return {"note": params.note}


class SleepParams(BaseModel):
    seconds: float = Field(5.0, ge=0, le=3600, description="Total time to sleep.")
    steps: int = Field(10, ge=1, le=10_000, description="Progress updates along the way.")


@job_type("sleep", params=SleepParams, max_attempts=3)
def sleep(ctx: JobContext, params: SleepParams) -> dict[str, Any]:
    """Sleeps in steps, reporting progress; stops early when cancelled."""
    for step in range(params.steps):
        ctx.progress(step, params.steps, f"step {step + 1} of {params.steps}")
        time.sleep(params.seconds / params.steps)
    ctx.progress(params.steps, params.steps, "done")
    return {"slept_s": params.seconds}


@job_type("housekeeping", params=NoParams, max_attempts=2, schedule="17 * * * *")
def housekeeping(ctx: JobContext, params: NoParams) -> dict[str, Any]:
    """Deletes finished jobs and gone workers older than the retention setting."""
    cutoff = utcnow() - timedelta(days=JobsSettings.of(ctx.settings).retention_days)
    with ctx.platform.unit_of_work() as session:
        deleted = purge_finished(session=session, older_than=cutoff)
    ctx.log(f"deleted {deleted} finished jobs older than {cutoff:%Y-%m-%d %H:%M}")
    return {"deleted_jobs": deleted, "cutoff": cutoff.isoformat()}
