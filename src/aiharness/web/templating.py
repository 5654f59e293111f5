"""Jinja2 environment and the render helper every page uses (language, nav, request id)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from aiharness import __version__
from aiharness.web.i18n import LANG_COOKIE, SUPPORTED, Catalogs, choose_language

TEMPLATES_DIR = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class NavItem:
    key: str
    path: str


# The sections of the product, in menu order; features fill them as they land.
NAV: tuple[NavItem, ...] = (
    NavItem("dashboard", "/"),
    NavItem("knowledge", "/knowledge"),
    NavItem("ask", "/ask"),
    NavItem("jobs", "/jobs"),
    NavItem("datasets", "/datasets"),
    NavItem("models", "/models"),
    NavItem("admin", "/admin"),
)


class WebUI:
    def __init__(self) -> None:
        self.catalogs = Catalogs.load()
        self.templates = Jinja2Templates(directory=str(TEMPLATES_DIR))  # autoescape on for .html

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

        def t(key: str, **params: object) -> str:
            return self.catalogs.translate(lang, key, **params)

        other_lang = next(code for code in SUPPORTED if code != lang)
        response = self.templates.TemplateResponse(
            request,
            template,
            {
                "t": t,
                "lang": lang,
                "other_lang": other_lang,
                "nav": NAV,
                "active": active,
                "version": __version__,
                "request_id": getattr(request.state, "request_id", ""),
                **(context or {}),
            },
            status_code=status_code,
        )
        if request.query_params.get("lang") in SUPPORTED:
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax")
        return response

    def render_error(
        self, request: Request, status_code: int, message: str, *, active: str | None = None
    ) -> HTMLResponse:
        return self.render(
            request,
            "error.html",
            {"status_code": status_code, "message": message},
            active=active,
            status_code=status_code,
        )


def get_web(request: Request) -> WebUI:
    web: WebUI = request.app.state.web
    return web


WebDep = Annotated[WebUI, Depends(get_web)]
