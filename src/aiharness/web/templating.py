"""Jinja2 environment and the render helpers every page uses (language, nav, request id, flash,
error pages), and the route class that puts a router on the page surface."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from aiharness import __version__
from aiharness.api_errors import ErrorInfo, render_api_error
from aiharness.web.i18n import LANG_COOKIE, SUPPORTED, Catalogs, choose_language, iso_utc

TEMPLATES_DIR = Path(__file__).parent / "templates"
PAGE_SURFACE = "page"
FRAGMENT_SURFACE = "fragment"
SERVER_LANG = "en"  # the language of messages the platform writes (errors, job notes, details)
# Error pages with a sentence of their own; other statuses get "error.status.other".
ERROR_STATUSES = (400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500, 503)


@dataclass(frozen=True)
class NavItem:
    """A section of the main menu; ``order`` places it (pages modules declare their own)."""

    key: str
    path: str
    order: int


@dataclass(frozen=True)
class DashboardCard:
    """A card a feature adds to the dashboard: a title and the HTMX partial that fills it."""

    title_key: str
    url: str
    order: int


class PageRoute(APIRoute):
    """Whole pages of the web UI: their errors render as an HTML error page."""

    error_surface = PAGE_SURFACE


class FragmentRoute(APIRoute):
    """HTMX partials and actions: their errors render as a flash where the user acted."""

    error_surface = FRAGMENT_SURFACE


def page_router() -> APIRouter:
    """The router of a pages module's whole pages (hidden from the API docs)."""
    return APIRouter(include_in_schema=False, route_class=PageRoute)


def fragment_router() -> APIRouter:
    """The router of a pages module's HTMX partials and actions (hidden from the API docs)."""
    return APIRouter(include_in_schema=False, route_class=FragmentRoute)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


class WebUI:
    def __init__(
        self,
        nav: tuple[NavItem, ...] = (),
        cards: tuple[DashboardCard, ...] = (),
        admin: tuple[NavItem, ...] = (),
    ) -> None:
        self.catalogs = Catalogs.load()
        self.templates = Jinja2Templates(directory=str(TEMPLATES_DIR))  # autoescape on for .html
        self.nav = nav
        self.cards = cards
        # The Admin section's entries (``ADMIN`` of each pages module), listed by ``/admin``.
        self.admin = admin

    def render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any] | None = None,
        *,
        active: str | None = None,
        status_code: int = 200,
    ) -> HTMLResponse:
        lang = choose_language(request)
        other_lang = next(code for code in SUPPORTED if code != lang)
        response = self.templates.TemplateResponse(
            request,
            template,
            {
                **self.helpers(lang),
                "lang": lang,
                "other_lang": other_lang,
                "nav": self.nav,
                "active": active,
                "version": __version__,
                "request_id": getattr(request.state, "request_id", ""),
                # Who is signed in (None on public pages), for the top bar, the open-mode
                # banner and the CSRF token that forms and HTMX send back.
                "principal": (principal := getattr(request.state, "principal", None)),
                "csrf_token": getattr(principal, "csrf_token", None) or "",
                **(context or {}),
            },
            status_code=status_code,
        )
        if request.query_params.get("lang") in SUPPORTED:
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax")
        return response

    def helpers(self, lang: str) -> dict[str, Any]:
        """What every template can call: ``t`` (a catalog key), ``t_or`` (a key or a fallback
        name), ``tx`` (a server message, translated when known), ``duration`` (seconds, for
        people) and ``when`` (a ``<time>`` the browser shows in its own time zone; the server's
        text is UTC, labelled so)."""
        catalogs = self.catalogs

        def t(key: str, **params: object) -> str:
            return catalogs.translate(lang, key, **params)

        def t_or(key: str, fallback: str) -> str:
            """A name the catalog may know (a dependency, a job type) or the name itself."""
            return catalogs.translate(lang, key) if catalogs.has(key) else fallback

        def tx(text: str | None) -> str:
            if not text:
                return ""
            return explain(catalogs, lang, text) or text

        def duration(seconds: float | None) -> str:
            return "–" if seconds is None else catalogs.duration(lang, max(seconds, 0.0))

        def when(moment: datetime | None, style: str = "datetime") -> Markup:
            if moment is None:
                return Markup("–")
            iso = iso_utc(moment)
            utc = iso[:19].replace("T", " ") + " UTC"
            return Markup('<time datetime="{}" data-style="{}">{}</time>').format(
                iso, style, utc if style == "datetime" else utc[11:]
            )

        return {"t": t, "t_or": t_or, "tx": tx, "duration": duration, "when": when}

    def flash(
        self,
        request: Request,
        *,
        ok: bool,
        key: str | None = None,
        text: str = "",
        trigger: str | None = None,
    ) -> HTMLResponse:
        """A one-line outcome (a translated ``key`` or a ``text``) for an HTMX target; ``trigger``
        names the event that tells other parts of the page to refresh."""
        response = self.render(request, "_flash.html", {"ok": ok, "key": key, "text": text})
        if trigger:
            response.headers["HX-Trigger"] = trigger
        return response

    def section_of(self, path: str) -> str | None:
        """The menu section a path belongs to (for the error page's highlighted nav item)."""
        for item in self.nav:
            if item.path != "/" and (path == item.path or path.startswith(item.path + "/")):
                return item.key
        return None

    def render_error(
        self, request: Request, status_code: int, message: str, *, active: str | None = None
    ) -> HTMLResponse:
        """The page says what happened in the reader's language; the server's own message
        stays below it as the technical detail (what support needs)."""
        lang = choose_language(request)
        known = status_code if status_code in ERROR_STATUSES else "other"
        return self.render(
            request,
            "error.html",
            {
                "status_code": status_code,
                "message": message,
                "headline": self.catalogs.translate(lang, f"error.status.{known}"),
                "explained": explain(self.catalogs, lang, message),
            },
            active=active or self.section_of(request.url.path),
            status_code=status_code,
        )

    def fragment_error(self, request: Request, info: ErrorInfo) -> Response:
        """HTMX swaps only 2xx answers; the flash says what went wrong where the user acted.
        A signed-out user is sent to the sign-in page (HTMX follows ``HX-Redirect``)."""
        if info.status_code == 401:
            return Response(status_code=401, headers={"HX-Redirect": login_url(request)})
        known = explain(self.catalogs, choose_language(request), info.message)
        return self.flash(request, ok=False, text=known or info.message)

    def page_error(self, request: Request, info: ErrorInfo) -> Response:
        """A page for browsers (a flash if HTMX asked), the JSON error for other clients."""
        if is_htmx(request):
            return self.fragment_error(request, info)
        if info.status_code == 401:
            return RedirectResponse(login_url(request), status_code=303)
        if "text/html" in request.headers.get("accept", ""):
            response = self.render_error(request, info.status_code, info.message)
            response.headers.update(info.headers)
            return response
        return render_api_error(request, info)


def login_url(request: Request) -> str:
    """The sign-in page, coming back to where the user was (a local path only)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?" + urlencode({"next": target})


def explain(catalogs: Catalogs, lang: str, message: str) -> str | None:
    """A server message in the reader's language, or None to show it as written: the platform
    writes English, so English readers get the original with all its detail and hints."""
    return None if lang == SERVER_LANG else catalogs.phrase(lang, message)


def get_web(request: Request) -> WebUI:
    web: WebUI = request.app.state.web
    return web


WebDep = Annotated[WebUI, Depends(get_web)]
