"""Page routes of the web UI. Pages call the same services as the API; no logic lives here."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from aiharness.db.engine import describe_url
from aiharness.deps import CurrentPrincipal, PlatformDep, SessionDep
from aiharness.events import service as events
from aiharness.health.checks import is_ready, run_checks
from aiharness.jobs.pages import router as jobs_pages
from aiharness.knowledge.pages import router as knowledge_pages
from aiharness.web.templating import NAV, WebDep, WebUI

STATIC_DIR = Path(__file__).parent / "static"
# Sections whose feature has not landed yet: they render an honest "not yet" page.
PLACEHOLDER_SECTIONS = {"ask", "datasets", "models", "admin"}

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def dashboard(
    request: Request, web: WebDep, platform: PlatformDep, session: SessionDep, _p: CurrentPrincipal
) -> HTMLResponse:
    reports = await run_checks(platform.checks)
    recent = events.list_events(session=session, limit=10)
    return web.render(
        request,
        "dashboard.html",
        {
            "reports": reports,
            "ready": is_ready(reports),
            "uptime_s": int(time.time() - platform.started_at),
            "data_dir": str(platform.settings.data_dir.resolve()),
            "database": describe_url(platform.settings.resolved_database_url),
            "events": recent.items,
        },
        active="dashboard",
    )


@router.get("/ui/partials/health", response_class=HTMLResponse)
async def health_partial(
    request: Request, web: WebDep, platform: PlatformDep, _p: CurrentPrincipal
) -> HTMLResponse:
    reports = await run_checks(platform.checks)
    return web.render(request, "_health.html", {"reports": reports, "ready": is_ready(reports)})


def _placeholder(key: str, path: str) -> None:
    async def page(request: Request, web: WebDep, _p: CurrentPrincipal) -> HTMLResponse:
        return web.render(request, "unavailable.html", {"section": key}, active=key)

    router.add_api_route(path, page, methods=["GET"], response_class=HTMLResponse)


for item in NAV:
    if item.key in PLACEHOLDER_SECTIONS:
        _placeholder(item.key, item.path)


def mount_web(app: FastAPI) -> None:
    app.state.web = WebUI()
    app.state.render_html_error = app.state.web.render_error
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(router)
    app.include_router(jobs_pages)
    app.include_router(knowledge_pages)
