"""The Knowledge page in a real browser: create a collection, upload files, watch them become
ready (HTMX polling), search and see the passage with the query terms highlighted."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.fixtures.servers import RunningPlatform, start_platform
from tests.knowledge.kb_fixtures import CONVEYOR_EN, PUMP_KO

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def platform_without_demo(tmp_path: Path) -> Iterator[RunningPlatform]:
    platform = start_platform(
        tmp_path / "data", extra_env={"AIHARNESS_KNOWLEDGE__DEMO_INGEST": "off"}
    )
    yield platform
    platform.stop()


def test_upload_watch_progress_and_search(
    platform_without_demo: RunningPlatform, page: Any, tmp_path: Path, test_output_dir: Path
) -> None:
    base = platform_without_demo.base_url
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlparse(request.url).hostname or ""))
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.extend([msg.text] if msg.type == "error" else []))
    pump = tmp_path / "pump-manual.txt"
    pump.write_text(PUMP_KO, encoding="utf-8")
    belt = tmp_path / "belt.md"
    belt.write_text(f"# Conveyor\n\n{CONVEYOR_EN}", encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")

    page.goto(base + "/knowledge")
    assert page.locator("h1").inner_text() == "Knowledge"
    page.fill("input[name=name]", "plant")
    page.click("form.knowledge-form button[type=submit]")
    page.wait_for_url(base + "/knowledge/plant")

    page.set_input_files("input[name=files]", [str(pump), str(belt), str(empty)])
    page.click("form.knowledge-upload button[type=submit]")
    page.locator('#upload-result li[data-outcome="queued"]').first.wait_for()
    assert page.locator("#upload-result li").count() == 3
    # The document table polls until every document is ready or failed.
    page.locator('#documents tr[data-status="ready"]').nth(1).wait_for(timeout=120_000)
    page.locator('#documents tr[data-status="failed"]').wait_for(timeout=30_000)
    failed = page.locator('#documents tr[data-status="failed"]')
    assert "empty.txt is empty." in failed.inner_text()

    page.fill("input[name=q]", "윤활유 교체 정비를")
    page.click("form.knowledge-search button[type=submit]")
    first = page.locator("#search-results .passage").first
    first.wait_for()
    assert "pump-manual.txt" in first.inner_text()
    marks = first.locator("mark").all_inner_texts()
    assert "윤활유" in marks and "교체" in marks
    page.screenshot(path=str(test_output_dir / "knowledge-en.png"), full_page=True)

    # The result opens its document at the passage it found.
    first.locator("a.passage-link").click()
    page.wait_for_url(re.compile(r".*/knowledge/plant/documents/\d+#chunk-\d+$"))
    assert page.locator("h1").inner_text() == "pump-manual.txt"
    assert page.locator("li:target .passage-text").inner_text().startswith("원심 펌프")

    page.goto(base + "/knowledge?lang=ko")
    assert page.locator("h1").inner_text() == "지식베이스"
    assert page.locator('tr[data-collection="plant"]').count() == 1

    # Deleting asks first; declining keeps the collection, accepting removes it.
    page.goto(base + "/knowledge/plant")
    delete = page.locator('button[data-action="delete-collection"]')
    page.once("dialog", lambda dialog: dialog.dismiss())
    delete.click()
    page.wait_for_timeout(300)
    assert page.url == base + "/knowledge/plant"
    page.once("dialog", lambda dialog: dialog.accept())
    delete.click()
    page.wait_for_url(base + "/knowledge")
    assert page.locator('tr[data-collection="plant"]').count() == 0
    assert hosts == {"127.0.0.1"}, f"the page contacted other hosts: {hosts}"
    assert not console_errors
