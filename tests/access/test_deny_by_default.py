"""Every route of the whole app either needs a permission or is on the short public list, and
with sign-in required an unknown caller gets nothing but the public list."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from aiharness.access.permissions import catalog
from aiharness.api_errors import iter_routes
from aiharness.feature import Feature
from aiharness.features import FEATURES
from aiharness.principal import AUTHENTICATED, PUBLIC, UNDECLARED, mount_router

pytestmark = pytest.mark.integration

# The only paths anyone may call: liveness, readiness (and their old names), sign-in, the
# first-run page (itself loopback-only while no user exists), static assets and the API docs.
PUBLIC_PATHS = frozenset(
    {
        "/health",
        "/api/health",
        "/ready",
        "/status",
        "/api/status",
        "/login",
        "/first-run",
        "/docs",
        "/redoc",
        "/openapi.json",
    }
)
PUBLIC_MOUNTS = frozenset({"/static"})


def undeclared_routes(app: FastAPI, known: set[str]) -> list[str]:
    """Routes that need nothing known: not mounted through ``mount_router``, declared by no
    feature, naming an unknown permission, or public without being on the list."""
    table: dict[str, dict[str, str]] = app.state.route_permissions
    problems: list[str] = []
    for route in iter_routes(list(app.routes)):
        if isinstance(route, Mount):
            if route.path not in PUBLIC_MOUNTS:
                problems.append(f"mount {route.path}")
            continue
        if not isinstance(route, APIRoute | Route):
            problems.append(f"route of unknown kind {route!r}")
            continue
        for method in sorted(route.methods or ()):
            need = table.get(route.path, {}).get(method)
            if route.path == "/openapi.json":  # FastAPI's own, not mounted by a feature
                continue
            if need is None or need == UNDECLARED:
                problems.append(f"{method} {route.path}: no permission declared")
            elif need == PUBLIC and route.path not in PUBLIC_PATHS:
                problems.append(f"{method} {route.path}: public but not on the public list")
            elif need not in (PUBLIC, AUTHENTICATED) and need not in known:
                problems.append(f"{method} {route.path}: unknown permission {need}")
    return problems


def test_every_route_needs_a_permission_or_is_on_the_public_list(app: FastAPI) -> None:
    problems = undeclared_routes(app, set(catalog(FEATURES)))
    assert problems == []
    # The walk saw the API, the pages, the fragments and the aliases.
    paths = {getattr(r, "path", "") for r in iter_routes(list(app.routes))}
    assert {"/api/collections", "/v1/chat/completions", "/knowledge", "/rag/search"} <= paths


def test_a_route_added_without_a_declaration_is_caught() -> None:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    router = APIRouter()

    @router.get("/api/new-thing")
    def new_thing() -> dict[str, str]:
        return {}

    undeclared = Feature(name="newthing")
    mount_router(app, router, undeclared.permission_for)
    assert undeclared_routes(app, set()) == ["GET /api/new-thing: no permission declared"]
    plain = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    plain.state.route_permissions = {}
    plain.include_router(router)  # mounted around the app factory
    assert undeclared_routes(plain, set()) == ["GET /api/new-thing: no permission declared"]


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_an_unknown_caller_reaches_only_the_public_list(client: TestClient) -> None:
    """Every method of every route, called with no credentials: 401 (API, /v1) or a redirect
    to the sign-in page (pages, HTMX: HX-Redirect) unless the path is public."""
    app: Any = client.app
    reached: list[str] = []
    for route in iter_routes(list(app.routes)):
        if not isinstance(route, APIRoute) or route.path in PUBLIC_PATHS:
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            url = _fill(route.path)
            response = client.request(method, url, follow_redirects=False)
            ok = response.status_code == 401 or (
                response.status_code == 303 and response.headers["location"].startswith("/login")
            )
            if not ok:
                reached.append(f"{method} {url}: {response.status_code}")
    assert reached == []


def test_metrics_need_a_permission_unless_configured_public(
    client: TestClient, required_settings: Any
) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/health").status_code == 200
    assert client.get("/ready").status_code in (200, 503)
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/login").status_code == 200
