"""Runs: start (validated params, one record per step), list, show, logs, cancel, re-run,
compare. Execution is in ``runner`` (one job per step)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from aiharness.audit import record
from aiharness.db.base import utcnow
from aiharness.errors import Conflict, Invalid, NotFound
from aiharness.jobs.queue import QueueHub
from aiharness.pipelines.datasets import get_dataset_row
from aiharness.pipelines.models import ACTIVE_RUN_STATUSES, Dataset, DatasetVersion, Run, RunStep
from aiharness.pipelines.runtime import PipelinesRuntime
from aiharness.pipelines.schemas import (
    RunComparison,
    RunCreate,
    RunDetail,
    RunLogs,
    RunPublic,
    StepPublic,
)

MAX_TAIL = 5000
MAX_COMPARE = 10


def _steps(session: Session, run_id: str) -> list[RunStep]:
    return list(
        session.scalars(select(RunStep).where(RunStep.run_id == run_id).order_by(RunStep.position))
    )


def start_run(
    *,
    session: Session,
    runtime: PipelinesRuntime,
    queues: QueueHub,
    run_in: RunCreate,
    rerun_of: str | None = None,
) -> RunDetail:
    """Validate, record the run and its steps (committed), then queue the first step."""
    from aiharness.pipelines.runner import submit_step

    dataset = get_dataset_row(session, run_in.dataset_id)
    pipeline = runtime.registry.get(run_in.pipeline)
    params = pipeline.validate_params(run_in.params)
    if run_in.version_id is not None:
        version = session.get(DatasetVersion, run_in.version_id)
        if version is None or version.dataset_id != dataset.id:
            raise NotFound(
                f"dataset {dataset.name} has no version {run_in.version_id}",
                code="version_not_found",
            )
    else:
        version = session.scalars(
            select(DatasetVersion)
            .where(DatasetVersion.dataset_id == dataset.id)
            .order_by(DatasetVersion.number.desc())
        ).first()
        if version is None:
            raise Invalid(f"dataset {dataset.name} has no version", code="no_version")
    run = Run(
        id=uuid.uuid4().hex,
        dataset_id=dataset.id,
        version_id=version.id,
        pipeline=pipeline.name,
        params=params,
        status="queued",
        cancel_requested=False,
        rerun_of=rerun_of,
        metrics={},
        created_at=utcnow(),
    )
    session.add(run)
    for position, step in enumerate(pipeline.steps):
        session.add(
            RunStep(
                run_id=run.id,
                position=position,
                name=step.name,
                status="pending",
                metrics={},
                artifacts=[],
            )
        )
    record(
        session,
        action="pipelines.run.start",
        target=f"run:{run.id}",
        details={
            "pipeline": pipeline.name,
            "dataset": dataset.name,
            "version": version.number,
            "rerun_of": rerun_of,
        },
    )
    session.commit()
    runtime.run_dir(run.id).mkdir(parents=True, exist_ok=True)
    submit_step(session=session, queues=queues, run_id=run.id, position=0)
    return get_run(session=session, run_id=run.id)


def to_public(run: Run) -> RunPublic:
    return RunPublic.model_validate(run)


def list_runs(
    *,
    session: Session,
    dataset_id: int | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[RunPublic]:
    query = select(Run).order_by(Run.created_at.desc()).limit(limit).offset(offset)
    if dataset_id is not None:
        query = query.where(Run.dataset_id == dataset_id)
    if status is not None:
        query = query.where(Run.status == status)
    found = list(session.scalars(query))
    for run in found:
        reconcile(session, run)
    return [to_public(r) for r in found]


def find_run_id(session: Session, run_id: str) -> str:
    """The run whose id is ``run_id`` or starts with it (the CLI shows short ids)."""
    if session.get(Run, run_id) is not None:
        return run_id
    if len(run_id) >= 4:
        found = list(session.scalars(select(Run.id).where(Run.id.like(f"{run_id}%")).limit(2)))
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise Invalid(f"run id {run_id} is ambiguous; give more characters")
    raise NotFound(f"no run {run_id}", code="run_not_found")


def reconcile(session: Session, run: Run) -> None:
    """Fail an active run whose current step's job ended without the step handler recording
    it (a worker killed mid-step and its job failed by the orphan sweep, a job cancelled
    through the jobs API): otherwise the run would show "running" forever."""
    from aiharness.jobs.models import Job
    from aiharness.pipelines.runner import finish_run

    if run.status not in ACTIVE_RUN_STATUSES:
        return
    for step in _steps(session, run.id):
        if step.status not in ("queued", "running") or not step.job_id:
            continue
        job = session.get(Job, step.job_id)
        if job is None or job.status not in ("failed", "cancelled"):
            continue
        status = "cancelled" if job.status == "cancelled" else "failed"
        reason = job.error or job.status_reason or f"its job {job.status}"
        step.status, step.error = status, reason
        session.flush()
        finish_run(session, run.id, status, f"step {step.name} {status}: {reason}")
        session.refresh(run)
        return


def get_run(*, session: Session, run_id: str) -> RunDetail:
    run = session.get(Run, find_run_id(session, run_id))
    assert run is not None
    reconcile(session, run)
    dataset = session.get(Dataset, run.dataset_id)
    return RunDetail(
        **to_public(run).model_dump(),
        steps=[StepPublic.model_validate(s) for s in _steps(session, run.id)],
        dataset_name=dataset.name if dataset else "",
    )


def cancel_run(*, session: Session, run_id: str) -> RunDetail:
    """Ask a run to stop at its next step boundary; a run whose first step has not started
    stops at once."""
    run_id = find_run_id(session, run_id)
    run = session.get(Run, run_id)
    assert run is not None
    if run.status not in ACTIVE_RUN_STATUSES:
        raise Conflict(f"run {run_id} is already {run.status}", code="run_finished")
    session.execute(
        update(Run)
        .where(Run.id == run_id, Run.status.in_(ACTIVE_RUN_STATUSES))
        .values(cancel_requested=True)
    )
    record(session, action="pipelines.run.cancel", target=f"run:{run_id}")
    session.commit()
    return get_run(session=session, run_id=run_id)


def rerun(
    *,
    session: Session,
    runtime: PipelinesRuntime,
    queues: QueueHub,
    run_id: str,
    params: dict[str, Any],
) -> RunDetail:
    """A new run of the same pipeline on the same dataset version, with ``params`` changed."""
    original = session.get(Run, find_run_id(session, run_id))
    assert original is not None
    return start_run(
        session=session,
        runtime=runtime,
        queues=queues,
        run_in=RunCreate(
            dataset_id=original.dataset_id,
            pipeline=original.pipeline,
            params={**original.params, **params},
            version_id=original.version_id,
        ),
        rerun_of=original.id,
    )


def log_files(runtime: PipelinesRuntime, run_id: str, steps: Sequence[RunStep]) -> list[Path]:
    return [runtime.run_dir(run_id) / "logs" / f"{s.position:02d}-{s.name}.log" for s in steps]


def run_logs(
    *, session: Session, runtime: PipelinesRuntime, run_id: str, tail: int = 200
) -> RunLogs:
    """The last ``tail`` lines of the run's step logs, in step order, each step headed."""
    if not 1 <= tail <= MAX_TAIL:
        raise Invalid(f"tail must be between 1 and {MAX_TAIL}", code="invalid_tail")
    run_id = find_run_id(session, run_id)
    run = session.get(Run, run_id)
    assert run is not None
    steps = _steps(session, run_id)
    lines: list[str] = []
    for step, path in zip(steps, log_files(runtime, run_id, steps), strict=True):
        if not path.exists():
            continue
        lines.append(f"== {step.name} ({step.status}) ==")
        lines.extend(path.read_text(encoding="utf-8", errors="replace").splitlines())
    return RunLogs(run_id=run_id, status=run.status, lines=lines[-tail:])


def _flatten(metrics: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for step, values in metrics.items():
        if isinstance(values, dict):
            for key, value in values.items():
                if isinstance(value, (int, float, str, bool)) or value is None:
                    flat[f"{step}.{key}"] = value
    return flat


def compare_runs(*, session: Session, run_ids: Sequence[str]) -> RunComparison:
    """Params and metrics of several runs side by side (a missing value is None)."""
    if not 1 <= len(run_ids) <= MAX_COMPARE:
        raise Invalid(f"compare takes 1 to {MAX_COMPARE} run ids", code="invalid_compare")
    runs = []
    for run_id in run_ids:
        run = session.get(Run, find_run_id(session, run_id))
        assert run is not None
        runs.append(run)
    params: dict[str, dict[str, Any]] = {}
    metrics: dict[str, dict[str, Any]] = {}
    for run in runs:
        for key in run.params:
            params.setdefault(key, {})
        for key in _flatten(run.metrics):
            metrics.setdefault(key, {})
    for run in runs:
        flat = _flatten(run.metrics)
        for key in params:
            params[key][run.id] = run.params.get(key)
        for key in metrics:
            metrics[key][run.id] = flat.get(key)
    return RunComparison(runs=[to_public(r) for r in runs], params=params, metrics=metrics)
