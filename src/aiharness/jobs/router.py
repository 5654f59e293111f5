"""/api/jobs and /api/workers: submit, list, show, cancel, retry; worker liveness."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from aiharness.api_errors import error_responses
from aiharness.deps import CurrentPrincipal, Offset, SessionDep, SettingsDep
from aiharness.jobs import service
from aiharness.jobs.deps import QueuesDep
from aiharness.jobs.schemas import JobCreate, JobDetail, JobPage, JobPublic, JobStatus, WorkerList
from aiharness.jobs.settings import JobsSettings

router = APIRouter(tags=["jobs"], responses=error_responses(404, 409, 422))


@router.get("/api/jobs", summary="List jobs, newest first")
def list_jobs(
    session: SessionDep,
    _principal: CurrentPrincipal,
    status_: Annotated[JobStatus | None, Query(alias="status")] = None,
    type_: Annotated[str | None, Query(alias="type", max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> JobPage:
    return service.list_jobs(
        session=session, status=status_, job_type=type_, limit=limit, offset=offset
    )


@router.post(
    "/api/jobs",
    summary="Submit a job (validated against its type before anything is stored)",
    status_code=status.HTTP_201_CREATED,
)
def submit_job(
    job_in: JobCreate, session: SessionDep, queues: QueuesDep, _principal: CurrentPrincipal
) -> JobPublic:
    return service.submit_by_hand(session=session, queues=queues, job_in=job_in)


# Job ids may be given as a unique prefix (the CLI and UI show 12 characters).
@router.get("/api/jobs/{job_id}", summary="One job with its error traceback and log tail")
def get_job(job_id: str, session: SessionDep, _principal: CurrentPrincipal) -> JobDetail:
    full = service.find_job_id(session=session, prefix=job_id)
    return service.get_job(session=session, job_id=full)


@router.post("/api/jobs/{job_id}/cancel", summary="Cancel a waiting job or ask a running one")
def cancel_job(job_id: str, session: SessionDep, _principal: CurrentPrincipal) -> JobPublic:
    full = service.find_job_id(session=session, prefix=job_id)
    return service.cancel_job(session=session, job_id=full)


@router.post("/api/jobs/{job_id}/retry", summary="Run a failed or cancelled job again")
def retry_job(
    job_id: str, session: SessionDep, queues: QueuesDep, _principal: CurrentPrincipal
) -> JobPublic:
    full = service.find_job_id(session=session, prefix=job_id)
    return service.retry_job(session=session, queues=queues, job_id=full)


@router.get("/api/workers", summary="Worker processes and their heartbeat state")
def list_workers(
    session: SessionDep, settings: SettingsDep, _principal: CurrentPrincipal
) -> WorkerList:
    return service.list_workers(
        session=session, heartbeat_timeout_s=JobsSettings.of(settings).heartbeat_timeout_s
    )
