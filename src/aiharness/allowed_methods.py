"""``OPTIONS`` on any path answers which methods it allows (``Allow``), as RFC 9110 asks;
a path that no route serves is a 404 in the platform's shape."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from aiharness.api_errors import error_response, iter_routes


class AllowedMethods:
    """Answers ``OPTIONS`` itself; every other request passes through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "OPTIONS":
            await self.app(scope, receive, send)
            return
        allowed = allowed_methods(scope)
        response = (
            Response(status_code=204, headers={"Allow": ", ".join(sorted(allowed | {"OPTIONS"}))})
            if allowed
            else error_response(404, "Not Found")
        )
        await response(scope, receive, send)


def allowed_methods(scope: Scope) -> set[str]:
    """The methods of every route whose path matches (a method mismatch is a partial match)."""
    methods: set[str] = set()
    for route in iter_routes(list(scope["app"].routes)):
        match, _ = route.matches(scope)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or {"GET", "HEAD"})
    return methods
