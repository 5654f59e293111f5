"""The web shell: static assets, the page error surface, the dashboard and each installed
feature's pages (``aiharness.web.pages.<feature name>``), and the menu they declare.

Sections of the product that no installed feature provides yet render an honest "not yet" page.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from aiharness.api_errors import surfaces_of
from aiharness.deps import CurrentPrincipal
from aiharness.principal import AUTHENTICATED, PUBLIC, PermissionRule, mount_router
from aiharness.web import api_docs
from aiharness.web.templating import (
    FRAGMENT_SURFACE,
    PAGE_SURFACE,
    DashboardCard,
    NavItem,
    WebDep,
    WebUI,
    page_router,
)

if TYPE_CHECKING:
    from aiharness.feature import Feature

STATIC_DIR = Path(__file__).parent / "static"
PAGES_PACKAGE = "aiharness.web.pages"
# The product's planned sections, shown as "not yet" until a feature's pages claim the key.
PLANNED = (
    NavItem("ask", "/ask", 30),
    NavItem("datasets", "/datasets", 50),
    NavItem("models", "/models", 60),
    NavItem("admin", "/admin", 90),
)


def signed_in(_path: str, _methods: set[str]) -> str:
    """The dashboard's and the planned sections' need: any signed-in caller."""
    return AUTHENTICATED


def pages_modules(features: Sequence[Feature]) -> list[ModuleType]:
    """The dashboard plus the pages module of every installed feature that has one."""
    return [module for module, _rule in pages_with_permissions(features)]


def pages_with_permissions(features: Sequence[Feature]) -> list[tuple[ModuleType, PermissionRule]]:
    """Each pages module with the permission rule of its feature (the API's rule)."""
    found: list[tuple[ModuleType, PermissionRule]] = [
        (importlib.import_module(f"{PAGES_PACKAGE}.dashboard"), signed_in)
    ]
    for feature in features:
        name = f"{PAGES_PACKAGE}.{feature.name}"
        if importlib.util.find_spec(name) is not None:
            found.append((importlib.import_module(name), feature.permission_for))
    return found


def _placeholder(key: str) -> Callable[..., HTMLResponse]:
    def page(request: Request, web: WebDep, _p: CurrentPrincipal) -> HTMLResponse:
        return web.render(request, "unavailable.html", {"section": key}, active=key)

    return page


def _placeholder_router(items: Sequence[NavItem]) -> APIRouter:
    router = page_router()
    for item in items:
        router.add_api_route(
            item.path, _placeholder(item.key), methods=["GET"], response_class=HTMLResponse
        )
    return router


ADMIN_NAV = NavItem("admin", "/admin", 90)
admin_router = page_router()


@admin_router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, web: WebDep, _p: CurrentPrincipal) -> HTMLResponse:
    """The Admin section's landing page: the entries pages modules declare in ``ADMIN``
    (each entry's own page checks its permission)."""
    return web.render(request, "admin.html", {"entries": web.admin}, active="admin")


def mount_web(app: FastAPI, features: Sequence[Feature]) -> WebUI:
    """Mount the pages with the permissions their features declare (``mount_router``)."""
    with_rules = pages_with_permissions(features)
    modules = [module for module, _rule in with_rules]
    declared: list[NavItem] = [item for m in modules for item in getattr(m, "NAV", ())]
    admin: list[NavItem] = [item for m in modules for item in getattr(m, "ADMIN", ())]
    if admin:  # the Admin section exists once a pages module declares an entry of it
        declared.append(ADMIN_NAV)
    claimed = {item.key for item in declared}
    planned = [item for item in PLANNED if item.key not in claimed]
    cards: list[DashboardCard] = [c for m in modules for c in getattr(m, "DASHBOARD", ())]
    web = WebUI(
        nav=tuple(sorted([*declared, *planned], key=lambda i: i.order)),
        cards=tuple(sorted(cards, key=lambda c: c.order)),
        admin=tuple(sorted(admin, key=lambda i: i.order)),
    )
    app.state.web = web
    surfaces_of(app).register(PAGE_SURFACE, web.page_error, claims_unmatched=False)
    surfaces_of(app).register(FRAGMENT_SURFACE, web.fragment_error, claims_unmatched=False)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    mount_router(app, api_docs.router, lambda _path, _methods: PUBLIC)
    for module, rule in with_rules:
        mount_router(app, module.router, rule)
        if hasattr(module, "fragments"):
            mount_router(app, module.fragments, rule)
    if admin:
        mount_router(app, admin_router, signed_in)
    mount_router(app, _placeholder_router(planned), signed_in)
    return web
