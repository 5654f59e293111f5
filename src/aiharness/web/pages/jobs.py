"""Web UI for jobs: the Jobs page (HTMX-polled table, detail, cancel/retry) and the dashboard's
Workers panel. ``GET /jobs`` also serves the predecessor's JSON job list to non-browser callers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from aiharness.deps import CurrentPrincipal, Offset, SessionDep, SettingsDep
from aiharness.jobs import service
from aiharness.jobs.deps import QueuesDep
from aiharness.jobs.schemas import JOB_STATUSES, JobPage, JobStatus
from aiharness.jobs.settings import JobsSettings
from aiharness.web.templating import NavItem, WebDep, fragment_router, page_router

router = page_router()
fragments = fragment_router()
NAV = (NavItem("jobs", "/jobs", 40),)
PAGE_SIZE = 25
# Tells the polled table (and detail) to refresh now rather than at the next tick.
CHANGED = "jobs-changed"


def _filters(status: str | None, job_type: str | None, offset: int) -> dict[str, Any]:
    return {"status": status or "", "type": job_type or "", "offset": offset, "limit": PAGE_SIZE}


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


@router.get("/jobs", response_model=None)
def jobs_page(
    request: Request,
    web: WebDep,
    session: SessionDep,
    _p: CurrentPrincipal,
    status: Annotated[JobStatus | None, Query()] = None,
    type_: Annotated[str | None, Query(alias="type", max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = PAGE_SIZE,
    offset: Offset = 0,
) -> Response:
    """Browsers get the page; API clients of the old `/jobs` endpoint get the JSON list."""
    page = service.list_jobs(
        session=session, status=status, job_type=type_, limit=limit, offset=offset
    )
    if not _wants_html(request):
        return JSONResponse(page.model_dump(mode="json"))
    return web.render(
        request,
        "jobs.html",
        {"page": page, "filters": _filters(status, type_, offset), "statuses": JOB_STATUSES},
        active="jobs",
    )


@fragments.get("/ui/partials/jobs", response_class=HTMLResponse)
def jobs_table_partial(
    request: Request,
    web: WebDep,
    session: SessionDep,
    _p: CurrentPrincipal,
    status: Annotated[str | None, Query()] = None,
    type_: Annotated[str | None, Query(alias="type", max_length=128)] = None,
    offset: Offset = 0,
) -> HTMLResponse:
    status = status if status in JOB_STATUSES else None
    page: JobPage = service.list_jobs(
        session=session, status=status, job_type=type_ or None, limit=PAGE_SIZE, offset=offset
    )
    return web.render(
        request, "_jobs_table.html", {"page": page, "filters": _filters(status, type_, offset)}
    )


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(
    job_id: str, request: Request, web: WebDep, session: SessionDep, _p: CurrentPrincipal
) -> HTMLResponse:
    job = service.get_job(session=session, job_id=job_id)
    return web.render(request, "job.html", {"job": job}, active="jobs")


@fragments.get("/ui/partials/jobs/{job_id}", response_class=HTMLResponse)
def job_detail_partial(
    job_id: str, request: Request, web: WebDep, session: SessionDep, _p: CurrentPrincipal
) -> HTMLResponse:
    job = service.get_job(session=session, job_id=job_id)
    return web.render(request, "_job_detail.html", {"job": job})


@fragments.post("/ui/jobs/{job_id}/cancel", response_class=HTMLResponse)
def cancel_action(
    job_id: str, request: Request, web: WebDep, session: SessionDep, _p: CurrentPrincipal
) -> HTMLResponse:
    job = service.cancel_job(session=session, job_id=job_id)
    key = "jobs.flash.cancelled" if job.status == "cancelled" else "jobs.flash.cancel_requested"
    return web.flash(request, ok=True, key=key, trigger=CHANGED)


@fragments.post("/ui/jobs/{job_id}/retry", response_class=HTMLResponse)
def retry_action(
    job_id: str,
    request: Request,
    web: WebDep,
    session: SessionDep,
    queues: QueuesDep,
    _p: CurrentPrincipal,
) -> HTMLResponse:
    service.retry_job(session=session, queues=queues, job_id=job_id)
    return web.flash(request, ok=True, key="jobs.flash.retried", trigger=CHANGED)


@fragments.get("/ui/partials/workers", response_class=HTMLResponse)
def workers_partial(
    request: Request, web: WebDep, session: SessionDep, settings: SettingsDep, _p: CurrentPrincipal
) -> HTMLResponse:
    workers = service.list_workers(
        session=session, heartbeat_timeout_s=JobsSettings.of(settings).heartbeat_timeout_s
    )
    return web.render(request, "_workers.html", {"workers": workers})
