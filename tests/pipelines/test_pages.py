"""The pipelines pages: datasets list/profile/preview, upload, start a run, run detail with
timeline, log tail, metrics and inline SVG charts, in English and Korean."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.pipelines import pl_fixtures
from tests.pipelines.pl_fixtures import sensor_frame

pytestmark = pytest.mark.integration

pl_app = pl_fixtures.pl_app
pl_client = pl_fixtures.pl_client
pl_settings = pl_fixtures.pl_settings
run_jobs = pl_fixtures.run_jobs
HX = {"HX-Request": "true"}


def test_upload_profile_start_and_watch_a_run(
    pl_client: TestClient, run_jobs: Callable[[], list[str]], tmp_path: Path
) -> None:
    empty = pl_client.get("/datasets")
    assert empty.status_code == 200
    assert "aiharness datasets sample" in empty.text
    assert 'href="/runs"' in empty.text  # the Runs menu entry
    csv = sensor_frame().to_csv(index=False).encode()
    uploaded = pl_client.post(
        "/ui/datasets/upload", files={"file": ("pump.csv", csv)}, data={"name": ""}, headers=HX
    )
    assert uploaded.status_code == 200
    assert uploaded.headers["HX-Redirect"] == "/datasets/1"
    page = pl_client.get("/datasets/1")
    assert "datetime: 2026-01-01T00:00:00" in page.text
    assert "pressure" in page.text
    assert page.text.count("<tr>") >= 20  # the preview rows
    bad = pl_client.post(
        "/ui/runs",
        data={"dataset_id": "1", "pipeline": "sensor_anomaly", "params": "{train_rows: 1"},
        headers=HX,
    )
    assert "not valid JSON" in bad.text
    started = pl_client.post(
        "/ui/runs",
        data={"dataset_id": "1", "pipeline": "sensor_anomaly", "params": '{"train_rows": 300}'},
        headers=HX,
    )
    run_url = started.headers["HX-Redirect"]
    queued = pl_client.get(run_url)
    assert 'hx-trigger="every 2s"' in queued.text  # live while queued
    run_jobs()
    done = pl_client.get(run_url)
    assert 'hx-trigger="every 2s"' not in done.text
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in done.text
    assert "labelled anomaly" in done.text
    assert "roc_auc" in done.text
    assert "step evaluate finished" in done.text
    live = pl_client.get(run_url.replace("/runs/", "/ui/runs/") + "/live", headers=HX)
    assert live.headers.get("HX-Refresh") == "true"
    korean = pl_client.get("/runs", params={"lang": "ko"})
    assert "성공" in korean.text


def test_missing_run_and_dataset_pages_are_404(pl_client: TestClient) -> None:
    assert pl_client.get("/runs/deadbeefdeadbeef").status_code == 404
    assert pl_client.get("/datasets/41").status_code == 404
