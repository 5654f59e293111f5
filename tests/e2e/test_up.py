"""``aiharness up`` as a user starts it: a real process, real HTTP, Ctrl-C to stop."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.fixtures.servers import RunningPlatform, start_platform

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_up_serves_everything_and_stops_cleanly_on_ctrl_c(
    running_platform: RunningPlatform,
) -> None:
    base = running_platform.base_url
    # Generous timeouts: this checks what is served, and the models load in the background
    # while it runs (on a busy 2-core CI machine one request once took over httpx's 5 s).
    client = httpx.Client(timeout=30)
    assert client.get(f"{base}/health").json() == {"status": "ok"}
    ready = client.get(f"{base}/ready")
    assert ready.status_code == 200, ready.text
    assert "aiharness_http_requests_total" in client.get(f"{base}/metrics").text
    assert "swagger" in client.get(f"{base}/docs").text.lower()
    dashboard = client.get(f"{base}/", headers={"Accept-Language": "ko-KR,ko;q=0.9"})
    assert dashboard.status_code == 200
    assert "대시보드" in dashboard.text
    response = client.get(f"{base}/api/events", headers={"X-Request-ID": "e2e-1"})
    client.close()
    assert response.headers["x-request-id"] == "e2e-1"

    assert running_platform.stop() == 0
    log = running_platform.log()
    assert "Traceback" not in log
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(line.get("request_id") == "e2e-1" for line in lines)
    assert (running_platform.data_dir / "aiharness.db").exists()
    assert any(line.get("event") == "Application shutdown complete." for line in lines)


def test_a_port_in_use_is_one_clear_line(running_platform: RunningPlatform, tmp_path: Path) -> None:
    port = running_platform.base_url.rsplit(":", 1)[1]
    result = subprocess.run(
        [sys.executable, "-m", "aiharness", "up", "--port", port],
        capture_output=True,
        text=True,
        timeout=60,
        env={"AIHARNESS_DATA_DIR": str(tmp_path / "other"), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 2
    assert f"port {port}" in result.stderr and "already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_state_survives_a_restart(tmp_path: Path) -> None:
    first = start_platform(tmp_path / "data")
    first.stop()
    second = start_platform(tmp_path / "data")
    try:
        events = httpx.get(f"{second.base_url}/api/events").json()
        kinds = [event["kind"] for event in events["items"]]
        assert kinds == ["platform.started", "platform.stopped", "platform.started"]
    finally:
        second.stop()
