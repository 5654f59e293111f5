"""Web UI for the audit log: Admin → Audit (``/admin/audit``), filters and paging in the URL so
a filtered view can be bookmarked or shared. Needs ``admin:audit`` like ``GET /api/audit``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse

from aiharness.audit import service
from aiharness.audit.schemas import AuditResultName
from aiharness.deps import CurrentPrincipal, Offset, SessionDep
from aiharness.web.templating import NavItem, WebDep, page_router

router = page_router()
ADMIN = (NavItem("audit", "/admin/audit", 30),)
PAGE_SIZE = 50
# The "since" menu: a period back from now.
PERIODS = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}
Text = Annotated[str | None, Query(max_length=200)]


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    web: WebDep,
    session: SessionDep,
    _p: CurrentPrincipal,
    actor: Text = None,
    action: Text = None,
    target: Text = None,
    result: Annotated[AuditResultName | None, Query()] = None,
    period: Annotated[str | None, Query(max_length=8)] = None,
    offset: Offset = 0,
) -> HTMLResponse:
    since = datetime.now(UTC) - PERIODS[period] if period in PERIODS else None
    page = service.list_entries(
        session=session,
        actor=actor or None,
        action=action or None,
        target=target or None,
        result=result,
        since=since,
        limit=PAGE_SIZE,
        offset=offset,
    )
    filters: dict[str, Any] = {
        "actor": actor or "",
        "action": action or "",
        "target": target or "",
        "result": result or "",
        "period": period if period in PERIODS else "",
    }
    return web.render(
        request,
        "audit.html",
        {
            "page": page,
            "filters": filters,
            "actions": service.action_names(session=session),
            "periods": list(PERIODS),
            "results": ("ok", "denied", "failed"),
        },
        active="admin",
    )
