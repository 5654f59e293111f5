"""The Jobs page and the Workers panel in a real browser against `aiharness up` with its embedded
worker: live progress, cancel and retry through HTMX, worker liveness on the dashboard."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.servers import RunningPlatform, start_platform

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[RunningPlatform]:
    running = start_platform(tmp_path / "data", extra_env={"AIHARNESS_HEARTBEAT_INTERVAL_S": "1"})
    yield running
    running.stop()


def _submit(base_url: str, job_type: str, **params: object) -> str:
    response = httpx.post(f"{base_url}/api/jobs", json={"type": job_type, "params": params})
    assert response.status_code == 201, response.text
    job_id: str = response.json()["id"]
    return job_id


def test_jobs_page_live_progress_cancel_retry_and_workers_panel(
    platform: RunningPlatform, page: Any, test_output_dir: Path
) -> None:
    base = platform.base_url
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.extend([msg.text] if msg.type == "error" else []))

    quick = _submit(base, "sleep", seconds=3, steps=30)
    page.goto(f"{base}/jobs")
    row = page.locator(f'tr[data-job-id="{quick}"]')
    # The table polls: the row moves to running with a progress bar, then to succeeded.
    row.locator("progress").wait_for(timeout=30_000)
    page.wait_for_selector(f'tr[data-job-id="{quick}"][data-status="succeeded"]', timeout=30_000)
    assert row.locator(".badge").inner_text() == "succeeded"
    assert "30/30" in row.locator(".job-progress").inner_text()

    slow = _submit(base, "sleep", seconds=120, steps=600)
    page.wait_for_selector(f'tr[data-job-id="{slow}"][data-status="running"]', timeout=30_000)
    page.screenshot(path=str(test_output_dir / "jobs-running.png"), full_page=True)
    page.locator(f'tr[data-job-id="{slow}"] button[data-action="cancel"]').click()
    page.wait_for_function(
        "document.querySelector('#flash').innerText.includes('Cancellation requested')",
        timeout=10_000,
    )
    page.wait_for_selector(f'tr[data-job-id="{slow}"][data-status="cancelled"]', timeout=30_000)

    page.locator(f'tr[data-job-id="{slow}"] button[data-action="retry"]').click()
    page.wait_for_function(
        "document.querySelector('#flash').innerText.includes('queued again')", timeout=10_000
    )
    page.wait_for_selector(
        f'tr[data-job-id="{slow}"]:is([data-status="queued"], [data-status="running"])',
        timeout=30_000,
    )
    httpx.post(f"{base}/api/jobs/{slow}/cancel")

    page.goto(f"{base}/jobs/{quick}")
    assert '"slept_s": 3.0' in page.locator("#job-detail").inner_text()

    page.goto(f"{base}/")
    page.wait_for_selector('#workers tr[data-state="live"]', timeout=15_000)
    assert "1 live" in page.locator('[data-testid="workers-summary"]').inner_text()
    page.screenshot(path=str(test_output_dir / "dashboard-workers.png"), full_page=True)
    assert not console_errors
