"""One JSON error shape for every failure: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException


class APIError(Exception):
    """Raise from services or routers for an error the caller can act on."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.code = code or _default_code(status_code)
        self.details = details
        self.headers = headers


class NotFoundError(APIError):
    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(404, message, details=details)


class BadRequestError(APIError):
    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(400, message, details=details)


def _default_code(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(
    status_code: int,
    message: str,
    *,
    code: str | None = None,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(code or _default_code(status_code), message, details),
        status_code=status_code,
        headers=headers,
    )


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, APIError)
    return error_response(
        exc.status_code, exc.message, code=exc.code, details=exc.details, headers=exc.headers
    )


# Machine-facing paths always get JSON; a browser asking for a page gets the HTML error page.
_API_PREFIXES = ("/api", "/v1", "/health", "/ready", "/metrics", "/status", "/jobs", "/rag", "/ask")


def _wants_html(request: Request) -> bool:
    if request.url.path.startswith(_API_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    details = None if isinstance(exc.detail, str) else exc.detail
    render_html = getattr(request.app.state, "render_html_error", None)
    if render_html is not None and _wants_html(request):
        response: Response = render_html(request, exc.status_code, message)
        return response
    return error_response(exc.status_code, message, details=details, headers=exc.headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {
            "location": ".".join(str(p) for p in err.get("loc", ())),
            "message": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in exc.errors()
    ]
    summary = "; ".join(f"{p['location']}: {p['message']}" for p in problems[:5])
    return error_response(
        422, f"invalid request: {summary}", code="validation_error", details=problems
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(APIError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
