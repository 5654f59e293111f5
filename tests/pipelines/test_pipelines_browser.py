"""End to end with a real ``aiharness up``: a sample file dropped into the inbound folder is
picked up by the embedded worker's watcher and analysed; the run page works at 390 px and
1280 px in Korean and English (no sideways scrolling, the chart is drawn)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from aiharness.pipelines.sample import write_sample
from tests.fixtures.servers import start_platform

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

OVERFLOW = """() => ({
  scroll: document.documentElement.scrollWidth,
  client: document.documentElement.clientWidth,
})"""


def test_inbound_file_to_run_page(tmp_path: Path, browser: Any, test_output_dir: Path) -> None:
    running = start_platform(
        tmp_path / "data",
        extra_env={
            "AIHARNESS_PIPELINES__STABLE_SECONDS": "1",
            "AIHARNESS_PIPELINES__POLL_INTERVAL_S": "0.5",
        },
    )
    try:
        write_sample(tmp_path / "data" / "inbound", rows=800)
        deadline = time.monotonic() + 120
        runs: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            # Generous: a busy 2-core machine shares its first seconds with model loading.
            runs = httpx.get(f"{running.base_url}/api/runs", timeout=30).json()
            if runs and runs[0]["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.5)
        assert runs, f"no run started from the inbound file:\n{running.log()[-3000:]}"
        run = runs[0]
        assert run["status"] == "succeeded", run["error"]
        assert run["metrics"]["evaluate"]["f1"] > 0.7
        shots = test_output_dir / "pipelines"
        shots.mkdir(exist_ok=True)
        for width in (390, 1280):
            for lang, locale in (("ko", "ko-KR"), ("en", "en-US")):
                context = browser.new_context(
                    viewport={"width": width, "height": 844}, locale=locale
                )
                page = context.new_page()
                for path in (f"/datasets/{run['dataset_id']}", f"/runs/{run['id']}"):
                    page.goto(f"{running.base_url}{path}?lang={lang}")
                    page.wait_for_load_state("load")
                    name = path.strip("/").split("/")[0]
                    page.screenshot(path=str(shots / f"{lang}-{width}-{name}.png"), full_page=True)
                    size = page.evaluate(OVERFLOW)
                    assert size["scroll"] <= size["client"], f"{width}px {path} scrolls sideways"
                # The last page shown is the run: its chart is drawn and has a size.
                box = page.locator("[data-chart=anomaly_score] svg").bounding_box()
                assert box is not None
                assert box["width"] > 0.8 * min(width, 1000) - 100
                context.close()
    finally:
        running.stop()
