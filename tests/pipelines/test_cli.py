"""``aiharness datasets ...`` and ``aiharness runs ...`` as a user runs them, on a data dir
(no worker is live, so ``runs start`` runs the steps in the CLI process)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli.test_cli import assert_clean_error, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_sample_register_run_logs_and_a_bad_param(tmp_path: Path) -> None:
    env = {"AIHARNESS_DATA_DIR": str(tmp_path / "data"), "AIHARNESS_LOG_LEVEL": "warning"}
    (tmp_path / "data").mkdir()
    sample = run_cli("datasets", "sample", "--rows", "600", env=env)
    assert sample.returncode == 0, sample.stderr
    (written,) = (tmp_path / "data" / "inbound").glob("pump-sample-*.csv")
    registered = run_cli("datasets", "register", str(written), "--name", "pump", env=env)
    assert registered.returncode == 0, registered.stderr
    assert "dataset pump (id 1): new version v1, 600 rows x 8 columns" in registered.stdout
    started = run_cli("runs", "start", "1", "sensor_anomaly", "-p", "train_rows=200", env=env)
    assert started.returncode == 0, started.stderr + started.stdout
    assert "succeeded" in started.stdout
    run_id = re.search(r"started run ([0-9a-f]{32})", started.stdout)
    assert run_id is not None
    logs = run_cli("runs", "logs", run_id.group(1)[:8], "--tail", "2", env=env)
    assert "step evaluate finished" in logs.stdout
    bad_param = run_cli("runs", "start", "1", "sensor_anomaly", "-p", "window=wide", env=env)
    assert_clean_error(bad_param, "window")
