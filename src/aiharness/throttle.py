"""The hook every mounted route passes after its permission check: a request throttle (rate
limits per caller) that a feature installs on the app (``app.state.throttle``); none installed
means no limit. It runs after ``authorize``, so ``request.state.principal`` names the caller."""

from __future__ import annotations

from typing import Protocol

from fastapi import Request

RATE_LIMITED_DOC = "Too many requests from this caller; `Retry-After` says when to try again."


class RequestThrottle(Protocol):
    """Raises ``RateLimited`` when the caller of ``request`` is over its limit."""

    async def check(self, request: Request) -> None: ...


async def throttle(request: Request) -> None:
    check: RequestThrottle | None = getattr(request.app.state, "throttle", None)
    if check is not None:
        await check.check(request)
