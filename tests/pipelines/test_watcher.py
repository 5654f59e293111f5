"""The inbound watcher: complete files only, rules, .done markers, no reprocessing after a
restart, and it runs only in worker processes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from aiharness.features import FEATURES
from aiharness.pipelines.models import InboundFile, Run
from aiharness.pipelines.sample import write_sample
from aiharness.pipelines.watcher import InboundWatcher
from aiharness.platform import Platform, build_platform
from tests.pipelines.pl_fixtures import drain_jobs, pl_settings_for, sensor_frame

pytestmark = pytest.mark.integration


def worker_platform(tmp_path: Path, **pipelines: Any) -> Platform:
    settings = pl_settings_for(tmp_path, stable_seconds=5, **pipelines)
    return build_platform(settings, role="worker", features=FEATURES)


def runs_of(platform: Platform) -> list[Run]:
    with platform.unit_of_work() as session:
        return list(session.scalars(select(Run)))


def test_waits_for_a_stable_file_then_runs_once_even_after_a_restart(tmp_path: Path) -> None:
    platform = worker_platform(tmp_path)
    try:
        watcher = InboundWatcher(platform)
        inbound = tmp_path / "data" / "inbound"
        inbound.mkdir(parents=True)
        path = inbound / "pump-line1.csv"
        half = sensor_frame(400).to_csv(index=False)
        path.write_text(half[: len(half) // 2], encoding="utf-8")  # a copy in progress
        (inbound / "other.csv").write_text("a,b\n1,2\n", encoding="utf-8")  # no rule matches
        assert watcher.scan(now=0.0) == []
        path.write_text(half, encoding="utf-8")  # the copy grew: the clock starts again
        assert watcher.scan(now=4.0) == []
        assert watcher.scan(now=8.0) == []
        started = watcher.scan(now=9.5)
        assert len(started) == 1
        assert watcher.scan(now=20.0) == []
        drain_jobs(platform)
        (run,) = runs_of(platform)
        assert run.pipeline == "sensor_anomaly"
        assert run.status == "succeeded", run.error
        restarted = InboundWatcher(platform)
        assert restarted.scan(now=0.0) == []
        assert restarted.scan(now=100.0) == []
        with platform.unit_of_work() as session:
            (record,) = session.scalars(select(InboundFile))
            assert record.status == "registered"
            assert record.run_id == run.id
    finally:
        platform.close()


def test_done_marker_mode_and_a_bad_file_is_recorded_not_retried(tmp_path: Path) -> None:
    platform = worker_platform(tmp_path, use_done_file=True)
    try:
        watcher = InboundWatcher(platform)
        inbound = tmp_path / "data" / "inbound"
        sample = write_sample(inbound, rows=300)
        assert watcher.scan(now=0.0) == []
        assert watcher.scan(now=1000.0) == []  # stable, but no marker yet
        (inbound / (sample.name + ".done")).touch()
        assert len(watcher.scan(now=1001.0)) == 1
        broken = inbound / "pump-broken.csv"
        broken.write_bytes(b'a,b\n1,"open\n')
        (inbound / (broken.name + ".done")).touch()
        assert watcher.scan(now=1002.0) == []
        assert watcher.scan(now=1003.0) == []
        with platform.unit_of_work() as session:
            failed = session.scalar(select(InboundFile).where(InboundFile.status == "failed"))
            assert failed is not None
            assert "pump-broken.csv" in (failed.error or "")
        # New content under the same name is a new file.
        broken.write_text(sensor_frame(300).to_csv(index=False), encoding="utf-8")
        os.utime(broken, ns=(1, 1))
        assert len(watcher.scan(now=1004.0)) == 1
    finally:
        platform.close()


def test_the_watcher_runs_only_in_worker_processes(tmp_path: Path) -> None:
    settings = pl_settings_for(tmp_path)
    api = build_platform(settings, role="api", features=FEATURES)
    try:
        assert not any(isinstance(s, InboundWatcher) for s in api.services)
    finally:
        api.close()
    worker = build_platform(settings, role="worker", features=FEATURES)
    try:
        assert any(isinstance(s, InboundWatcher) for s in worker.services)
    finally:
        worker.close()
