"""The Models page: the gateway's backends with live health, latency and errors, aliases,
recent usage and a small playground that streams from ``/v1/chat/completions``."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from aiharness.deps import CurrentPrincipal, SessionDep
from aiharness.gateway import service
from aiharness.gateway.deps import GatewayDep
from aiharness.gateway.runtime import GatewayRuntime
from aiharness.web.templating import NavItem, WebDep, fragment_router, page_router

router = page_router()
fragments = fragment_router()
NAV = (NavItem("models", "/models", 60),)
RECENT = 20


def _context(runtime: GatewayRuntime, session: Session) -> dict[str, Any]:
    return {
        "status": service.status(runtime),
        "usage": service.recent_usage(session=session, limit=RECENT),
    }


@router.get("/models", response_class=HTMLResponse)
def models_page(
    request: Request, web: WebDep, runtime: GatewayDep, session: SessionDep, _p: CurrentPrincipal
) -> HTMLResponse:
    context = _context(runtime, session)
    context["playground_models"] = [a.name for a in context["status"].aliases]
    return web.render(request, "gateway.html", context, active="models")


@fragments.get("/ui/partials/gateway/backends", response_class=HTMLResponse)
def backends_partial(
    request: Request, web: WebDep, runtime: GatewayDep, _p: CurrentPrincipal
) -> HTMLResponse:
    return web.render(request, "_gateway_backends.html", {"status": service.status(runtime)})


@fragments.get("/ui/partials/gateway/usage", response_class=HTMLResponse)
def usage_partial(
    request: Request, web: WebDep, session: SessionDep, _p: CurrentPrincipal
) -> HTMLResponse:
    usage = service.recent_usage(session=session, limit=RECENT)
    return web.render(request, "_gateway_usage.html", {"usage": usage})
