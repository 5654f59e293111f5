"""Offline guarantee in a real browser: every page of the UI and the API docs, in both
languages, with every request that would leave the machine blocked. A page that tries to reach
the internet (a CDN script, a web font, a validator badge) or logs a console error fails."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import SeededPlatform
from tests.e2e.site import EXTRA_PATHS, Watch, page_paths, wait_rendered

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ZONES = {"en-US": "UTC", "ko-KR": "Asia/Seoul"}


def _times_are_shown_in_the_viewers_zone(page: Any, base: str, zone: str) -> None:
    """app.js rewrites each <time> (a UTC instant) into the browser's zone and names it."""
    page.goto(base + "/")
    assert zone in page.locator("#time-zone").inner_text()
    _shows_local_time(page.locator("#content time").first, zone)
    # The jobs table replaces itself every 2 s: its new rows are rewritten too.
    page.goto(base + "/jobs")
    with page.expect_response(lambda r: "/ui/partials/jobs" in r.url):
        pass
    page.wait_for_timeout(200)
    _shows_local_time(page.locator("#jobs-table time").first, zone)


def _shows_local_time(time: Any, zone: str) -> None:
    instant = datetime.fromisoformat(time.get_attribute("datetime").replace("Z", "+00:00"))
    local = instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")
    assert time.inner_text() == local


def test_every_page_works_with_the_internet_blocked(
    seeded_platform: SeededPlatform, browser: Any
) -> None:
    base = seeded_platform.base_url
    watch = Watch()
    checked: list[str] = []
    for locale in ("en-US", "ko-KR"):
        context = browser.new_context(
            viewport={"width": 1280, "height": 860}, locale=locale, timezone_id=ZONES[locale]
        )
        watch.attach(context)
        page = context.new_page()
        watch.attach_page(page)

        def check(path: str, page: Any = page, locale: str = locale) -> None:
            watch.where = f"{locale} {path}"
            wait_rendered(page, path)
            page.wait_for_timeout(300)  # let HTMX's first partials and the docs' fetches land
            checked.append(f"{locale} {path}")

        for path in page_paths(page, base, on_page=check)[-len(EXTRA_PATHS) :]:
            watch.where = f"{locale} {path}"
            page.goto(base + path)
            check(path)
        _times_are_shown_in_the_viewers_zone(page, base, ZONES[locale])
        context.close()

    assert not watch.errors, "\n".join(watch.errors)
    assert not watch.blocked, f"pages tried to leave the machine: {watch.blocked}"
    paths_checked = {entry.split(" ", 1)[1] for entry in checked}
    # The crawl must really reach the pages that matter, not stop at the dashboard.
    expected = {"/", "/jobs", "/knowledge", "/knowledge/plant", "/docs", "/redoc"}
    assert expected <= paths_checked, sorted(paths_checked)
    assert any(p.startswith("/jobs/") for p in paths_checked), sorted(paths_checked)
