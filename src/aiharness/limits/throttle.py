"""Rate limits per caller and class of request, on fixed one-minute windows.

Classes: ``v1`` (the OpenAI-compatible API), ``login`` (sign-in attempts, always per client
address) and ``api`` (everything else mounted: ``/api`` and the pages). The caller is the
signed-in principal (its key or user id) when there is one, else the client address. Health,
readiness and metrics are never limited (monitoring polls them)."""

from __future__ import annotations

import asyncio
import time

from fastapi import Request

from aiharness.errors import RateLimited
from aiharness.limits.counters import CounterStore, MemoryCounters, current_window
from aiharness.limits.settings import LimitsSettings
from aiharness.observability.logging import get_logger

log = get_logger("aiharness.limits")
WINDOW_S = 60
UNLIMITED_PATHS = ("/health", "/ready", "/metrics", "/static")
LOGIN_PATHS = ("/login", "/first-run", "/api/auth/login")


def request_class(path: str, method: str) -> str | None:
    """Which limit a request counts against (None: not limited)."""
    if any(path == p or path.startswith(p + "/") for p in UNLIMITED_PATHS):
        return None
    if method != "GET" and any(path == p or path.startswith(p + "/") for p in LOGIN_PATHS):
        return "login"
    if path == "/v1" or path.startswith("/v1/"):
        return "v1"
    return "api"


class RateLimiter:
    """The app's throttle (``aiharness.throttle``): counts each request and refuses those over
    the caller's limit with ``RateLimited`` (429 with ``Retry-After``)."""

    def __init__(self, section: LimitsSettings, counters: CounterStore) -> None:
        self.limits = {
            "api": section.api_per_minute,
            "v1": section.v1_per_minute,
            "login": section.login_per_minute,
        }
        self.counters = counters
        # Memory counters answer in microseconds; shared ones go through a thread.
        self._inline = isinstance(counters, MemoryCounters)
        self._warned_at = 0.0

    @staticmethod
    def caller(request: Request, kind: str) -> str:
        principal = getattr(request.state, "principal", None)
        if kind != "login" and principal is not None and getattr(principal, "authenticated", False):
            return f"p:{principal.id}"
        client = request.client
        return f"a:{client.host if client else 'unknown'}"

    async def check(self, request: Request) -> None:
        kind = request_class(request.url.path, request.method)
        limit = self.limits.get(kind or "", 0)
        if kind is None or limit <= 0:
            return
        key = f"{kind}:{self.caller(request, kind)}"
        window, reset_s = current_window(WINDOW_S)
        try:
            if self._inline:
                count = self.counters.hit(key, window, WINDOW_S)
            else:
                count = await asyncio.to_thread(self.counters.hit, key, window, WINDOW_S)
        except Exception as exc:  # the counter store is down: serve rather than refuse all
            now = time.monotonic()
            if now - self._warned_at > WINDOW_S:
                self._warned_at = now
                log.warning("rate limit counters unavailable; not limiting", error=str(exc))
            return
        if count > limit:
            raise RateLimited(
                f"rate limit of {limit} {kind} requests per minute reached; "
                f"try again in {reset_s} s",
                details={"limit": limit, "class": kind, "retry_after_s": reset_s},
                retry_after_s=reset_s,
            )

    def close(self) -> None:
        self.counters.close()
