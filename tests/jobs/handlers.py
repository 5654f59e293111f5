"""Test-only job types, registered in the test process and (via AIHARNESS_JOB_MODULES) in real
worker subprocesses. Side effects go to real tables so tests can count them."""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.exc import IntegrityError

from aiharness.db.engine import session_scope
from aiharness.jobs.context import JobContext
from aiharness.jobs.registry import PermanentJobError, job_type

effects_metadata = MetaData()
# One row per job id: the idempotent handler's visible effect.
effects = Table(
    "test_job_effects",
    effects_metadata,
    Column("job_id", String(32), primary_key=True),
    Column("value", Integer, nullable=False),
)
# One row per execution (attempt), so tests can see re-runs that the effect table absorbs.
runs = Table(
    "test_job_runs",
    effects_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(32), nullable=False),
    Column("attempt", Integer, nullable=False),
)


class RecordParams(BaseModel):
    value: int = 0
    sleep_s: float = Field(0.0, ge=0, le=30)


@job_type("test.record", params=RecordParams, max_attempts=5, backoff_base_s=0.2)
def record(ctx: JobContext, params: RecordParams) -> dict[str, Any]:
    """Idempotent: the effect row is keyed by job id, so a re-run changes nothing."""
    with session_scope(ctx.session_factory) as session:
        session.execute(insert(runs).values(job_id=ctx.job_id, attempt=ctx.attempt))
    if params.sleep_s:
        time.sleep(params.sleep_s)
    with session_scope(ctx.session_factory) as session:
        exists = session.execute(
            select(effects.c.job_id).where(effects.c.job_id == ctx.job_id)
        ).first()
        if exists is None:
            try:
                session.execute(insert(effects).values(job_id=ctx.job_id, value=params.value))
                session.flush()
            except IntegrityError:
                session.rollback()
    return {"value": params.value}


class FlakyParams(BaseModel):
    fail_times: int = Field(1, ge=0)


@job_type("test.flaky", params=FlakyParams, max_attempts=3, backoff_base_s=0.1, backoff_cap_s=0.3)
def flaky(ctx: JobContext, params: FlakyParams) -> dict[str, Any]:
    """Fails its first ``fail_times`` attempts with a retryable error."""
    if ctx.attempt <= params.fail_times:
        raise ConnectionError(f"transient failure on attempt {ctx.attempt}")
    return {"attempt": ctx.attempt}


class BadInput(ValueError):
    """A handler-specific error declared permanent at registration."""


@job_type("test.permanent", params=RecordParams, max_attempts=5, permanent_errors=(BadInput,))
def permanent(ctx: JobContext, params: RecordParams) -> None:
    """Rejects its input: PermanentJobError for value 0, the declared BadInput otherwise."""
    if params.value == 0:
        raise PermanentJobError("value must not be 0")
    raise BadInput(f"value {params.value} is not acceptable")


class SlowParams(BaseModel):
    steps: int = Field(50, ge=1)
    step_s: float = Field(0.02, ge=0)


@job_type("test.slow", params=SlowParams, max_attempts=1)
def slow(ctx: JobContext, params: SlowParams) -> dict[str, Any]:
    """A tight loop reporting progress every step (throttled) and honouring cancellation."""
    for step in range(params.steps):
        ctx.progress(step, params.steps, f"step {step}")
        ctx.log(f"step {step}")
        time.sleep(params.step_s)
    ctx.progress(params.steps, params.steps, "done")
    return {"steps": params.steps}
