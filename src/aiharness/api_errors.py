"""Errors over HTTP: domain errors, validation errors and HTTP errors, shaped per surface.

A route belongs to a surface through its route class (``error_surface``): the platform API
(``{"error": {"code", "message", "details"}}``, the default), the web pages (an HTML page, set up
by ``aiharness.web``) or OpenAI's shape (``OpenAIRoute``, for ``/v1``). A path that matches no
route takes the surface of the routes that share its first segment when they all agree
(``/api/nope`` stays JSON); otherwise a browser gets the HTML page and any other client JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from aiharness.errors import DomainError, RateLimited, Unauthenticated, Unavailable

API_SURFACE = "api"
OPENAI_SURFACE = "openai"
STATUS_BY_KIND = {
    "not_found": 404,
    "conflict": 409,
    "invalid": 422,
    "too_large": 413,
    "unsupported": 415,
    "unauthenticated": 401,
    "forbidden": 403,
    "rate_limited": 429,
    "unavailable": 503,
}


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable name, e.g. `not_found`.")
    message: str = Field(description="What went wrong and what to do, in one line.")
    details: Any = Field(None, description="Extra facts: the invalid fields, per-file outcomes.")


class ErrorBody(BaseModel):
    """The platform's error shape on every ``/api`` route."""

    error: ErrorDetail


_WHY = {
    400: "The request could not be read.",
    401: "No valid credentials: sign in or send `Authorization: Bearer <key>`.",
    403: "Not allowed (e.g. a path outside the allowed folders).",
    404: "No such thing.",
    409: "The thing is not in a state that allows this.",
    413: "Larger than a configured limit.",
    415: "A file type the platform cannot read.",
    422: "Invalid input; `details` lists each problem.",
    429: "Too many requests: the caller's rate limit; `Retry-After` says when to try again.",
    503: "A dependency is down or busy; `Retry-After` says when to try again.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, in the platform's real shape."""
    return {code: {"model": ErrorBody, "description": _WHY.get(code, "Error.")} for code in codes}


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str = Field(description="`invalid_request_error`, `rate_limit_error`, `api_error`, ...")
    param: str | None = None
    code: str | None = None


class OpenAIErrorBody(BaseModel):
    """OpenAI's error shape, on every ``/v1`` route."""

    error: OpenAIErrorDetail


def openai_error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, in OpenAI's shape."""
    return {
        code: {"model": OpenAIErrorBody, "description": _WHY.get(code, "Error.")} for code in codes
    }


@dataclass(frozen=True)
class ErrorInfo:
    """One error, ready for any surface to render."""

    status_code: int
    code: str
    message: str
    details: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


Renderer = Callable[[Request, ErrorInfo], Response]


def status_code_of(error: DomainError) -> int:
    return STATUS_BY_KIND.get(error.kind, 400)


def info_of(error: DomainError) -> ErrorInfo:
    headers: dict[str, str] = {}
    if isinstance(error, Unavailable | RateLimited) and error.retry_after_s is not None:
        headers["Retry-After"] = str(error.retry_after_s)
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    return ErrorInfo(status_code_of(error), error.code, error.message, error.details, headers)


def default_code(status_code: int) -> str:
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
        error_body(code or default_code(status_code), message, details),
        status_code=status_code,
        headers=headers,
    )


def render_api_error(_request: Request, info: ErrorInfo) -> Response:
    return error_response(
        info.status_code, info.message, code=info.code, details=info.details, headers=info.headers
    )


# OpenAI's error "type" for each status, as its clients (and SDK exception classes) expect.
_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def render_openai_error(_request: Request, info: ErrorInfo) -> Response:
    """OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``."""
    param = None
    if isinstance(info.details, dict):
        param = info.details.get("param")
    elif isinstance(info.details, list) and info.details:
        first = info.details[0]
        param = first.get("location") if isinstance(first, dict) else None
    kind = _OPENAI_TYPES.get(info.status_code, "api_error")
    body = {"error": {"message": info.message, "type": kind, "param": param, "code": info.code}}
    return JSONResponse(body, status_code=info.status_code, headers=dict(info.headers))


class OpenAIRoute(APIRoute):
    """Routes of the OpenAI-compatible surface (``/v1``): errors in OpenAI's shape."""

    error_surface = OPENAI_SURFACE


# -- choosing the surface ------------------------------------------------------------------
def iter_routes(routes: list[Any]) -> list[Any]:
    """Every endpoint route, through included routers (FastAPI keeps those as one entry)."""
    found: list[Any] = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            found.extend(iter_routes(list(included.routes)))
        else:
            found.append(route)
    return found


def surface_of_route(route: Any) -> str:
    surface = getattr(route, "error_surface", None)
    return surface if isinstance(surface, str) else API_SURFACE


def _first_segment(path: str) -> str:
    return path.lstrip("/").split("/", 1)[0]


class ErrorSurfaces:
    """The renderers of one app and the surface each first path segment belongs to."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.renderers: dict[str, Renderer] = {
            API_SURFACE: render_api_error,
            OPENAI_SURFACE: render_openai_error,
        }
        # Surfaces whose first path segment also decides the shape of a "no such path" error.
        self._claims_unmatched = {API_SURFACE, OPENAI_SURFACE}
        self._by_segment: dict[str, set[str]] | None = None

    def register(self, surface: str, renderer: Renderer, *, claims_unmatched: bool = True) -> None:
        self.renderers[surface] = renderer
        if claims_unmatched:
            self._claims_unmatched.add(surface)
        else:
            self._claims_unmatched.discard(surface)

    def _segments(self) -> dict[str, set[str]]:
        if self._by_segment is None:
            table: dict[str, set[str]] = {}
            for route in iter_routes(list(self.app.routes)):
                path = getattr(route, "path", None)
                if not isinstance(path, str) or "{" in _first_segment(path):
                    continue
                table.setdefault(_first_segment(path), set()).add(surface_of_route(route))
            self._by_segment = table
        return self._by_segment

    def surface_for(self, request: Request) -> str:
        route = request.scope.get("route")
        if route is not None and getattr(route, "path", None) is not None:
            return surface_of_route(route)
        surfaces = self._segments().get(_first_segment(request.url.path), set())
        if len(surfaces) == 1 and surfaces <= self._claims_unmatched:
            return next(iter(surfaces))
        if "page" in self.renderers and "text/html" in request.headers.get("accept", ""):
            return "page"
        return API_SURFACE

    def render(self, request: Request, info: ErrorInfo) -> Response:
        renderer = self.renderers.get(self.surface_for(request), render_api_error)
        return renderer(request, info)


def surfaces_of(app: FastAPI) -> ErrorSurfaces:
    surfaces: ErrorSurfaces = app.state.error_surfaces
    return surfaces


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return surfaces_of(request.app).render(request, info_of(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    details = None if isinstance(exc.detail, str) else exc.detail
    info = ErrorInfo(
        exc.status_code, default_code(exc.status_code), message, details, exc.headers or {}
    )
    return surfaces_of(request.app).render(request, info)


def validation_info(errors: list[Any]) -> ErrorInfo:
    problems = [
        {
            "location": ".".join(str(p) for p in err.get("loc", ())),
            "message": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in errors
    ]
    summary = "; ".join(f"{p['location']}: {p['message']}" for p in problems[:5])
    return ErrorInfo(422, "validation_error", f"invalid request: {summary}", problems)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return surfaces_of(request.app).render(request, validation_info(list(exc.errors())))


async def _unencodable_text(request: Request, exc: Exception) -> Response:
    # JSON may carry lone surrogates (``"\\udb8b"``) that no database or file system takes.
    assert isinstance(exc, UnicodeEncodeError)
    info = ErrorInfo(
        422,
        "invalid_text",
        "the request contains text that is not valid Unicode (a lone surrogate character); "
        "send UTF-8 text",
    )
    return surfaces_of(request.app).render(request, info)


def install_error_handlers(app: FastAPI) -> ErrorSurfaces:
    surfaces = ErrorSurfaces(app)
    app.state.error_surfaces = surfaces
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(UnicodeEncodeError, _unencodable_text)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    return surfaces
