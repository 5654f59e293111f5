"""ASGI middleware: request id, access log, metrics, and a JSON 500 for anything unhandled."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aiharness.api_errors import error_response
from aiharness.observability.context import RequestInfo, current_request
from aiharness.observability.logging import get_logger
from aiharness.observability.masking import mask_text
from aiharness.observability.metrics import Metrics

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_QUIET_ROUTES = {"/metrics", "/health", "/static"}

log = get_logger("aiharness.http")


def _request_id(scope: Scope) -> str:
    """The caller's X-Request-ID if it is a plain id; else a new one.

    Request ids are logged unmasked (masking digits there broke real ids), so a caller's value
    is kept only if masking would not change it: a phone number or an e-mail address sent as a
    request id is replaced, never written to the log."""
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER.encode():
            candidate: str = value.decode("latin-1").strip()
            if _VALID_REQUEST_ID.match(candidate) and mask_text(candidate) == candidate:
                return candidate
    return uuid.uuid4().hex


def _route_template(scope: Scope) -> str:
    # The matched route's template keeps metric label cardinality bounded.
    route = scope.get("route")
    path: object = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    return "<unmatched>"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        client = scope.get("client")
        context_token = current_request.set(
            RequestInfo(
                request_id=request_id, client_address=client[0] if client else None, state=state
            )
        )
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error", method=scope["method"], path=scope["path"])
            if response_started:
                raise
            status = 500
            response = error_response(
                500,
                "internal error; the request id in the X-Request-ID header finds it in the logs",
                code="internal_error",
                details={"request_id": request_id},
            )
            await response(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            self.metrics.observe_request(scope["method"], route, status, elapsed)
            if not any(route.startswith(quiet) for quiet in _QUIET_ROUTES):
                log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    route=route,
                    status=status,
                    duration_ms=round(elapsed * 1000, 1),
                )
            structlog.contextvars.clear_contextvars()
            current_request.reset(context_token)
