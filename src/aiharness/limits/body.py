"""Request body size limits for every route: a JSON 413 instead of reading without end.

A declared ``Content-Length`` over the limit is refused before the app runs; a body sent without
one (chunked) is counted as it is read, and the read that crosses the limit raises a 413 that
the route's error surface renders (platform JSON on ``/api``, OpenAI's shape on ``/v1``).
Multipart uploads get their own, larger limit; each file keeps its feature's own cap."""

from __future__ import annotations

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aiharness.api_errors import error_response

MB = 1024 * 1024


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=_message(limit))


def _message(limit: int) -> str:
    return f"request body larger than the limit of {limit / MB:g} MB (AIHARNESS_LIMITS__*)"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


class BodySizeLimit:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes

    def limit_for(self, scope: Scope) -> int:
        content_type = (_header(scope, b"content-type") or "").lower()
        if content_type.startswith("multipart/form-data"):
            return self.max_upload_bytes
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = _header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        path: str = scope.get("path", "")
        if path == "/v1" or path.startswith("/v1/"):
            from fastapi.responses import JSONResponse

            body = {
                "error": {
                    "message": _message(limit),
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "request_entity_too_large",
                }
            }
            response = JSONResponse(body, status_code=413, headers={"Connection": "close"})
        else:
            response = error_response(
                413,
                _message(limit),
                code="request_entity_too_large",
                details={"limit_bytes": limit},
                headers={"Connection": "close"},
            )
        await response(scope, receive, send)
