"""Running a pipeline: one ``pipelines.step`` job per step, each submitting the next.

A job per step (rather than one job driving all steps) gives every step its own record,
progress and log in the job system, lets steps of one run land on different workers, and makes
the step boundary the natural place to honour a cancellation. A step's failure fails the run
with that step's message; the job fails too (no retry: a step fails on its data, which a retry
does not change). Step writes are conditional on the run still being active, so a late or
duplicated job message changes nothing.
"""

from __future__ import annotations

import json
import time
import traceback
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import update
from sqlalchemy.orm import Session

from aiharness.db.base import utcnow
from aiharness.jobs import service as jobs_service
from aiharness.jobs.context import JobCancelled, JobContext
from aiharness.jobs.queue import QueueHub
from aiharness.jobs.registry import PermanentJobError, job_type
from aiharness.jobs.schemas import JobCreate
from aiharness.observability.logging import get_logger
from aiharness.pipelines.datasets import version_file
from aiharness.pipelines.definition import StepContext, StepFailed
from aiharness.pipelines.formats import TableError
from aiharness.pipelines.models import ACTIVE_RUN_STATUSES, DatasetVersion, Run, RunStep
from aiharness.pipelines.runtime import PipelinesRuntime
from aiharness.pipelines.tracking import RunTracker
from aiharness.pipelines.tracking import enabled as tracking_enabled

log = get_logger("aiharness.pipelines.runner")
JOB_TYPE = "pipelines.step"
QUEUE = "default"


class StepParams(BaseModel):
    run_id: str = Field(min_length=8, max_length=32)
    position: int = Field(ge=0, le=1000)


def submit_step(*, session: Session, queues: QueueHub, run_id: str, position: int) -> None:
    """Queue one step's job and note its id on the step."""
    job = jobs_service.submit_job(
        session=session,
        queues=queues,
        job_in=JobCreate(type=JOB_TYPE, params={"run_id": run_id, "position": position}),
        dedupe_key=f"pipelines:{run_id}:{position}",
    )
    session.execute(
        update(RunStep)
        .where(RunStep.run_id == run_id, RunStep.position == position)
        .values(status="queued", job_id=job.id if job else None)
    )
    session.commit()


def finish_run(session: Session, run_id: str, status: str, error: str | None = None) -> None:
    """End an active run and mark its unfinished steps (skipped after a failure)."""
    ended = session.execute(
        update(Run)
        .where(Run.id == run_id, Run.status.in_(ACTIVE_RUN_STATUSES))
        .values(status=status, error=error, finished_at=utcnow())
    )
    if getattr(ended, "rowcount", 0):
        leftover = "cancelled" if status == "cancelled" else "skipped"
        session.execute(
            update(RunStep)
            .where(RunStep.run_id == run_id, RunStep.status.in_(("pending", "queued")))
            .values(status=leftover)
        )
    session.commit()


def _write_metrics(runtime: PipelinesRuntime, run: Run) -> None:
    path = runtime.run_dir(run.id) / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run.metrics, indent=2, default=str), encoding="utf-8")


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(
        json.dumps(values, default=lambda v: getattr(v, "item", lambda: str(v))())
    )
    return result


@job_type(JOB_TYPE, params=StepParams, max_attempts=1)
def run_step(ctx: JobContext, params: StepParams) -> dict[str, Any]:
    """Run one step of a pipeline run and queue the next."""
    runtime = ctx.get(PipelinesRuntime)
    with ctx.platform.unit_of_work() as session:
        run = session.get(Run, params.run_id)
        if run is None or run.status not in ACTIVE_RUN_STATUSES:
            return {"skipped": "run is not active"}
        if run.cancel_requested:
            finish_run(session, run.id, "cancelled", "cancelled by a user")
            if tracking_enabled():
                data_dir = runtime.settings.data_dir
                RunTracker(run_dir=runtime.run_dir(run.id), data_dir=data_dir).finish("cancelled")
            return {"cancelled": True}
        step_row = session.query(RunStep).filter_by(run_id=run.id, position=params.position).one()
        if step_row.status not in ("pending", "queued"):
            return {"skipped": f"step already {step_row.status}"}
        pipeline = runtime.registry.get(run.pipeline)
        version = session.get(DatasetVersion, run.version_id)
        assert version is not None
        started = utcnow()
        session.execute(
            update(Run)
            .where(Run.id == run.id, Run.status.in_(ACTIVE_RUN_STATUSES))
            .values(status="running", started_at=run.started_at or started)
        )
        step_row.status, step_row.started_at, step_row.job_id = "running", started, ctx.job_id
        session.commit()
        run_params, run_id, pipeline_name = dict(run.params), run.id, run.pipeline
        dataset_path = version_file(runtime, version)
        dataset_name = version.original_name
        total = len(pipeline.steps)
    step = pipeline.step(params.position)
    run_dir = runtime.run_dir(run_id)
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)
    step_ctx = StepContext(
        run_id=run_id,
        params=run_params,
        dataset_path=dataset_path,
        dataset_name=dataset_name,
        run_dir=run_dir,
        log_file=run_dir / "logs" / f"{params.position:02d}-{step.name}.log",
        check_cancelled=ctx.check_cancelled,
    )
    tracker = (
        RunTracker(run_dir=run_dir, data_dir=runtime.settings.data_dir, warn=step_ctx.log)
        if tracking_enabled()
        else None
    )
    ctx.progress(params.position, total, f"step {step.name}")
    step_ctx.log(f"step {step.name} started (job {ctx.job_id})")
    began = time.monotonic()
    try:
        metrics = _jsonable(dict(step.run(step_ctx) or {}))
    except JobCancelled:
        step_ctx.log("cancelled")
        with ctx.platform.unit_of_work() as session:
            _end_step(session, run_id, params.position, "cancelled", began, None, step_ctx)
            finish_run(session, run_id, "cancelled", "cancelled by a user")
        if tracker is not None:
            tracker.finish("cancelled")
        raise
    except Exception as exc:
        known = isinstance(exc, (StepFailed, TableError))
        message = str(exc) if known else f"{type(exc).__name__}: {exc}"
        step_ctx.log(f"failed: {message}")
        if not known:
            step_ctx.log(traceback.format_exc(limit=20))
        with ctx.platform.unit_of_work() as session:
            _end_step(session, run_id, params.position, "failed", began, message, step_ctx)
            finish_run(session, run_id, "failed", f"step {step.name} failed: {message}")
        if tracker is not None:
            tracker.finish("failed")
        raise PermanentJobError(f"step {step.name} failed: {message}") from None
    step_ctx.log(f"step {step.name} finished in {time.monotonic() - began:.2f} s")
    if tracker is not None:  # before the next step is queued: one MLflow run for all steps
        tracker.log_step(
            run_id=run_id,
            pipeline=pipeline_name,
            params=run_params,
            dataset=dataset_name,
            step=step.name,
            position=params.position,
            metrics=metrics,
            artifacts=[step_ctx.path(name) for name in step_ctx.artifacts],
        )
    with ctx.platform.unit_of_work() as session:
        _end_step(session, run_id, params.position, "succeeded", began, None, step_ctx, metrics)
        run = session.get(Run, run_id)
        assert run is not None
        run.metrics = {**run.metrics, step.name: metrics}
        session.commit()
        _write_metrics(runtime, run)
        if params.position + 1 >= total:
            finish_run(session, run_id, "succeeded")
            if tracker is not None:
                tracker.finish("succeeded")
        elif run.cancel_requested:
            finish_run(session, run_id, "cancelled", "cancelled by a user")
            if tracker is not None:
                tracker.finish("cancelled")
        elif run.status in ACTIVE_RUN_STATUSES:
            submit_step(
                session=session,
                queues=ctx.get(QueueHub),
                run_id=run_id,
                position=params.position + 1,
            )
    ctx.progress(params.position + 1, total, f"step {step.name} done")
    return {"run_id": run_id, "step": step.name, "metrics": metrics}


def _end_step(
    session: Session,
    run_id: str,
    position: int,
    status: str,
    began: float,
    error: str | None,
    step_ctx: StepContext,
    metrics: dict[str, Any] | None = None,
) -> None:
    session.execute(
        update(RunStep)
        .where(RunStep.run_id == run_id, RunStep.position == position)
        .values(
            status=status,
            error=error,
            finished_at=utcnow(),
            duration_s=round(time.monotonic() - began, 3),
            metrics=metrics or {},
            artifacts=list(step_ctx.artifacts),
        )
    )
    session.commit()
