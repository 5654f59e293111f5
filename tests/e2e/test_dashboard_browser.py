"""The dashboard in a real browser: renders offline, shows dependency health, switches language."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.fixtures.servers import RunningPlatform

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_dashboard_renders_health_offline_and_switches_language(
    running_platform: RunningPlatform, page: Any, test_output_dir: Path
) -> None:
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlparse(request.url).hostname or ""))
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.extend([msg.text] if msg.type == "error" else []))

    page.goto(running_platform.base_url + "/")
    assert page.title().startswith("Dashboard")
    row = page.locator('tr[data-dependency="database"]')
    assert row.locator(".badge").inner_text() == "up"
    assert page.locator('[data-testid="overall-status"]').inner_text().startswith("All required")
    # htmx is served from our own /static and live-refreshes the health table.
    assert page.evaluate("typeof window.htmx") == "object"
    with page.expect_response(lambda r: r.url.endswith("/ui/partials/health")):
        pass
    page.screenshot(path=str(test_output_dir / "dashboard-en.png"), full_page=True)

    page.get_by_role("link", name="한국어").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "대시보드"
    assert page.locator('tr[data-dependency="database"] .badge').inner_text() == "정상"
    page.goto(running_platform.base_url + "/jobs")  # the language choice is remembered
    assert page.locator("html").get_attribute("lang") == "ko"
    page.goto(running_platform.base_url + "/")
    page.screenshot(path=str(test_output_dir / "dashboard-ko.png"), full_page=True)

    assert hosts == {"127.0.0.1"}, f"the page contacted other hosts: {hosts}"
    assert not console_errors
