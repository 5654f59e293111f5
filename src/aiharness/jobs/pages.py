"""Web UI for jobs: the Jobs page (HTMX-polled table, detail, cancel/retry) and the dashboard's
Workers panel. ``GET /jobs`` also serves the predecessor's JSON job list to non-browser callers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from aiharness.deps import CurrentPrincipal, SessionDep, SettingsDep
from aiharness.errors import APIError
from aiharness.jobs import service
from aiharness.jobs.router import QueuesDep
from aiharness.jobs.schemas import JOB_STATUSES, JobPage, JobStatus
from aiharness.web.templating import WebDep, WebUI

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25


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
    offset: Annotated[int, Query(ge=0)] = 0,
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


@router.get("/ui/partials/jobs", response_class=HTMLResponse)
def jobs_table_partial(
    request: Request,
    web: WebDep,
    session: SessionDep,
    _p: CurrentPrincipal,
    status: Annotated[str | None, Query()] = None,
    type_: Annotated[str | None, Query(alias="type", max_length=128)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
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
    try:
        job = service.get_job(session=session, job_id=job_id)
    except APIError as exc:
        return web.render_error(request, 404, exc.message, active="jobs")
    return web.render(request, "job.html", {"job": job}, active="jobs")


@router.get("/ui/partials/jobs/{job_id}", response_class=HTMLResponse)
def job_detail_partial(
    job_id: str, request: Request, web: WebDep, session: SessionDep, _p: CurrentPrincipal
) -> HTMLResponse:
    try:
        job = service.get_job(session=session, job_id=job_id)
    except APIError as exc:
        return web.render(request, "_job_flash.html", {"ok": False, "message": exc.message})
    return web.render(request, "_job_detail.html", {"job": job})


def _flash(web: WebUI, request: Request, ok: bool, message: str) -> HTMLResponse:
    response = web.render(request, "_job_flash.html", {"ok": ok, "message": message})
    # Tell the polled table (and detail) to refresh now rather than at the next tick.
    response.headers["HX-Trigger"] = "jobs-changed"
    return response


@router.post("/ui/jobs/{job_id}/cancel", response_class=HTMLResponse)
def cancel_action(
    job_id: str, request: Request, web: WebDep, session: SessionDep, _p: CurrentPrincipal
) -> HTMLResponse:
    try:
        job = service.cancel_job(session=session, job_id=job_id)
    except APIError as exc:
        return _flash(web, request, False, exc.message)
    key = "jobs.flash.cancelled" if job.status == "cancelled" else "jobs.flash.cancel_requested"
    return _flash(web, request, True, key)


@router.post("/ui/jobs/{job_id}/retry", response_class=HTMLResponse)
def retry_action(
    job_id: str,
    request: Request,
    web: WebDep,
    session: SessionDep,
    queues: QueuesDep,
    _p: CurrentPrincipal,
) -> HTMLResponse:
    try:
        service.retry_job(session=session, queues=queues, job_id=job_id)
    except APIError as exc:
        return _flash(web, request, False, exc.message)
    return _flash(web, request, True, "jobs.flash.retried")


@router.get("/ui/partials/workers", response_class=HTMLResponse)
def workers_partial(
    request: Request, web: WebDep, session: SessionDep, settings: SettingsDep, _p: CurrentPrincipal
) -> HTMLResponse:
    workers = service.list_workers(
        session=session, heartbeat_timeout_s=settings.heartbeat_timeout_s
    )
    return web.render(request, "_workers.html", {"workers": workers})
