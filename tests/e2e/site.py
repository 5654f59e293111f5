"""Helpers for browser tests that walk the whole UI: a platform with something in every page
(a collection with a ready and a failed document, jobs, events), and the list of its pages found
by following the links a user can click, so new pages are checked without naming them here."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import httpx

COLLECTION = "plant"
DOC_TEXT = (
    "# 펌프 정비\n\n원심 펌프의 베어링은 6개월마다 점검하고 윤활유를 교체한다.\n\n"
    "# Pump maintenance\n\nInspect the centrifugal pump bearings every six months.\n"
)
# Paths no link leads to but a user reaches anyway: the API docs and a page that does not exist.
EXTRA_PATHS = ("/docs", "/redoc", "/no-such-page")
MAX_PAGES = 40
SKIP_PREFIXES = ("/static/", "/api/", "/ui/", "/metrics", "/health", "/ready", "/openapi")
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def seed(base: str, *, timeout_s: float = 120) -> int:
    """A collection with one ready and one failed document; returns the ready document's id."""
    with httpx.Client(base_url=base, timeout=30) as client:
        client.post("/api/collections", json={"name": COLLECTION}).raise_for_status()
        files = [
            ("files", ("pump.md", DOC_TEXT.encode(), "text/markdown")),
            ("files", ("empty.txt", b"", "text/plain")),
        ]
        client.post(f"/api/collections/{COLLECTION}/documents", files=files).raise_for_status()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            docs = client.get("/api/documents", params={"collection": COLLECTION}).json()["items"]
            if all(d["status"] in ("ready", "failed") for d in docs):
                return next(int(d["id"]) for d in docs if d["file_name"] == "pump.md")
            time.sleep(0.5)
    raise AssertionError(f"documents were not indexed within {timeout_s} s: {docs}")


def page_paths(page: Any, base: str, on_page: Callable[[str], None] | None = None) -> list[str]:
    """Every page of the UI reachable by links from the dashboard, then ``EXTRA_PATHS``;
    ``on_page(path)`` runs on each page the walk opens (the extra paths are the caller's)."""
    seen: set[str] = set()
    todo = ["/"]
    found: list[str] = []
    while todo and len(found) < MAX_PAGES:
        path = todo.pop(0)
        if path in seen:
            continue
        seen.add(path)
        page.goto(base + path)
        found.append(path)
        if on_page is not None:
            on_page(path)
        hrefs: list[str] = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        for href in hrefs:
            url = urlparse(href)
            if url.netloc != urlparse(base).netloc or url.query or url.fragment:
                continue
            if url.path.startswith(SKIP_PREFIXES) or url.path in seen:
                continue
            todo.append(url.path)
    return [*found, *EXTRA_PATHS]


@dataclass
class Watch:
    """What a page did that an offline user would notice: requests that left the machine (and
    were blocked) and errors in the console or uncaught in scripts."""

    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    where: str = ""  # the page being checked, named in each finding

    def attach(self, context: Any) -> None:
        context.route("**/*", self._route)

    def attach_page(self, page: Any) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"{self.where}: {exc}"))

    def _console(self, msg: Any) -> None:
        if msg.type == "error" and not _expected_error(msg.text, self.where):
            self.errors.append(f"{self.where}: {msg.text}")

    def _route(self, route: Any) -> None:
        url = urlparse(route.request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.hostname not in LOOPBACK:
            self.blocked.append(f"{self.where}: {route.request.url}")
            route.abort("blockedbyclient")
        else:
            route.continue_()


def _expected_error(text: str, path: str) -> bool:
    # The browser logs the 404 of the deliberately missing page itself.
    return path.endswith(" /no-such-page") and "404" in text


def wait_rendered(page: Any, path: str) -> None:
    """The API docs build themselves in script: wait until they show the API's title."""
    if path == "/docs":
        page.locator(".swagger-ui .info .title").wait_for(timeout=30_000)
    elif path == "/redoc":
        page.locator("redoc h1, .api-info h1").first.wait_for(timeout=30_000)
    else:
        page.wait_for_load_state("load")
