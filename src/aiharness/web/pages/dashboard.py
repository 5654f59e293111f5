"""The dashboard: dependency health, uptime, recent platform events."""

from __future__ import annotations

import time

from fastapi import Request
from fastapi.responses import HTMLResponse

from aiharness.db.engine import describe_url
from aiharness.deps import CurrentPrincipal, PlatformDep, SessionDep
from aiharness.events import service as events
from aiharness.health.checks import is_ready, run_checks
from aiharness.web.templating import NavItem, WebDep, fragment_router, page_router

router = page_router()
fragments = fragment_router()
NAV = (NavItem("dashboard", "/", 0),)


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
            "cards": web.cards,
        },
        active="dashboard",
    )


@fragments.get("/ui/partials/health", response_class=HTMLResponse)
async def health_partial(
    request: Request, web: WebDep, platform: PlatformDep, _p: CurrentPrincipal
) -> HTMLResponse:
    reports = await run_checks(platform.checks)
    return web.render(request, "_health.html", {"reports": reports, "ready": is_ready(reports)})
