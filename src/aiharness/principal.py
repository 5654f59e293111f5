"""The one dependency every route takes to learn its caller, and the one permission check.

Who the caller is comes from a resolver that a feature installs on the platform
(``platform.use_principal_resolver``); the access-control feature installs one that reads API
keys and web sessions. Without a resolver every caller is the open local principal.

What a route needs is declared, not coded: each ``Feature`` says which permission its routes
need (``read_permission``/``write_permission``/``route_permissions``) and the app factory stamps
it on every route it mounts (``route.permission``); ``authorize`` checks it on every request. A
route that needs something else says so with ``Depends(require("jobs:manage"))``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.routing import APIRoute

from aiharness.errors import Forbidden, Unauthenticated
from aiharness.feature import AUTHENTICATED as AUTHENTICATED
from aiharness.feature import PUBLIC as PUBLIC
from aiharness.throttle import RATE_LIMITED_DOC, throttle

# PUBLIC, AUTHENTICATED: route markers besides real permissions (defined with the Feature).
# A mounted route whose feature declared nothing for it: only a principal with every
# permission passes, and the deny-by-default test names it.
UNDECLARED = "@undeclared"


@dataclass(frozen=True)
class Principal:
    """The caller: a user (web session), an API key, the open local principal or nobody.

    ``permissions``/``collections``/``models``: None means every one.
    """

    id: str
    name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    authenticated: bool = False
    permissions: frozenset[str] | None = None
    collections: frozenset[str] | None = None
    models: frozenset[str] | None = None
    # How the caller was recognised: "open" (no sign-in), "session", "key" or "anonymous".
    via: str = "open"
    # The web session's CSRF token (forms and HTMX send it back); None for other callers.
    csrf_token: str | None = field(default=None, repr=False)

    def has_role(self, role: str) -> bool:
        return "admin" in self.roles or role in self.roles

    def can(self, permission: str) -> bool:
        if permission == PUBLIC:
            return True
        if permission == AUTHENTICATED:
            return self.authenticated or self.via == "open"
        if self.permissions is None:
            return True
        return permission in self.permissions

    def may_read_collection(self, name: str) -> bool:
        return self.collections is None or name in self.collections

    def may_use_model(self, name: str) -> bool:
        return self.models is None or name in self.models


LOCAL_PRINCIPAL = Principal(id="local", name="local", roles=frozenset({"admin"}))
ANONYMOUS = Principal(id="anonymous", name="anonymous", permissions=frozenset(), via="anonymous")


class PrincipalResolver(Protocol):
    """Finds the caller of a request; raises ``Unauthenticated`` for bad credentials."""

    async def resolve(self, request: Request) -> Principal: ...


async def get_current_principal(request: Request) -> Principal:
    """The caller, found once per request (``request.state.principal`` afterwards)."""
    known = getattr(request.state, "principal", None)
    if isinstance(known, Principal):
        return known
    resolver: PrincipalResolver | None = getattr(
        request.app.state.platform, "principal_resolver", None
    )
    principal = LOCAL_PRINCIPAL if resolver is None else await resolver.resolve(request)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_current_principal)]


def check_permission(principal: Principal, permission: str) -> None:
    """Nothing if ``principal`` may; 401 for nobody, 403 for someone without the permission."""
    if principal.can(permission):
        return
    if not principal.authenticated and principal.via != "open":
        raise Unauthenticated("sign in or send an API key (Authorization: Bearer aih_...)")
    shown = "every permission" if permission == UNDECLARED else f"the {permission} permission"
    raise Forbidden(f"{principal.name} lacks {shown}", code="forbidden")


async def authorize(request: Request) -> None:
    """The check the app factory puts on every mounted route: the route's declared need.
    Public routes do not even look at credentials (a stale key never breaks ``/health``)."""
    permission = route_permission(request)
    if permission != PUBLIC:
        check_permission(await get_current_principal(request), permission)


def route_permission(request: Request) -> str:
    """What the matched route needs (``UNDECLARED`` for a route nobody declared)."""
    path = getattr(request.scope.get("route"), "path", None)
    table: RoutePermissions = getattr(request.app.state, "route_permissions", {})
    return table.get(path, {}).get(request.method, UNDECLARED) if path else UNDECLARED


PermissionRule = Callable[[str, set[str]], str | None]
UNAUTHENTICATED_DOC = "No valid credentials: sign in, or send `Authorization: Bearer <key>`."
FORBIDDEN_DOC = "The caller lacks the permission this route needs (or the collection or model)."
# path -> method -> permission, for every route the app factory mounted.
RoutePermissions = dict[str, dict[str, str]]


def mount_router(
    app: FastAPI, router: APIRouter, rule: PermissionRule, *, include_in_schema: bool = True
) -> None:
    """Include ``router`` with ``authorize`` on each of its routes, and record what each
    route needs: its own ``require(...)``, else ``rule(path, methods)``, else ``UNDECLARED``."""
    for route in _endpoints(router.routes):  # documented before the app copies the routes
        if not route.path.startswith(("/health", "/ready", "/metrics")):
            route.responses.setdefault(429, {"description": RATE_LIMITED_DOC})
    # After the permission check, the throttle (rate limits) knows the caller.
    app.include_router(
        router,
        include_in_schema=include_in_schema,
        dependencies=[Depends(authorize), Depends(throttle)],
    )
    table: RoutePermissions | None = getattr(app.state, "route_permissions", None)
    if table is None:
        table = app.state.route_permissions = {}
    for route in _endpoints(router.routes):
        methods = set(route.methods or ())
        need = declared_requirement(route.dependant.dependencies)
        permission = need or rule(route.path, methods) or UNDECLARED
        for method in methods:
            table.setdefault(route.path, {}).setdefault(method, permission)
        if permission != PUBLIC:
            # The API docs say that the route can answer 401 and 403.
            route.responses.setdefault(401, {"description": UNAUTHENTICATED_DOC})
            route.responses.setdefault(403, {"description": FORBIDDEN_DOC})


def _endpoints(routes: Sequence[Any]) -> list[APIRoute]:
    found: list[APIRoute] = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            found.extend(_endpoints(list(included.routes)))
        elif isinstance(route, APIRoute):
            found.append(route)
    return found


class Require:
    """``Depends(require("jobs:manage"))``: this route needs that permission, whatever its
    feature's default; the app factory stamps it on the route instead of the default."""

    def __init__(self, permission: str) -> None:
        self.permission = permission

    async def __call__(self, principal: CurrentPrincipal) -> None:
        check_permission(principal, self.permission)


def require(permission: str) -> Require:
    return Require(permission)


def declared_requirement(dependencies: Collection[Any]) -> str | None:
    """The permission a route's own ``require(...)`` names (searched through its dependencies)."""
    for dependency in dependencies:
        call = getattr(dependency, "call", None)
        if isinstance(call, Require):
            return call.permission
        found = declared_requirement(getattr(dependency, "dependencies", ()))
        if found is not None:
            return found
    return None
