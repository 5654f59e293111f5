"""The datasets and runs services and API on PostgreSQL: a run end to end, versions, the
inbound-file claim, delete refused while a run is active."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from aiharness.app import create_app
from aiharness.pipelines.models import InboundFile
from aiharness.pipelines.watcher import InboundWatcher
from tests.pipelines.pl_fixtures import drain_jobs, pl_settings_for, sensor_frame, write_csv

pytestmark = pytest.mark.integration


def test_run_end_to_end_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    settings = pl_settings_for(tmp_path, database_url=postgres_url, stable_seconds=1)
    app = create_app(settings)
    with TestClient(app) as client:
        path = write_csv(tmp_path / "data" / "pump.csv", sensor_frame(), sep="\t")
        registered = client.post("/api/datasets", json={"path": str(path)}).json()
        again = client.post("/api/datasets", json={"path": str(path)}).json()
        assert again["created"] is False
        dataset_id = registered["dataset"]["id"]
        body = {"dataset_id": dataset_id, "pipeline": "sensor_anomaly", "params": {}}
        run = client.post("/api/runs", json={**body, "params": {"train_rows": 300}}).json()
        assert client.delete(f"/api/datasets/{dataset_id}").status_code == 409
        drain_jobs(app.state.platform)
        detail = client.get(f"/api/runs/{run['id']}").json()
        assert detail["status"] == "succeeded", detail["error"]
        assert detail["metrics"]["evaluate"]["f1"] > 0.8
        failing = client.post("/api/runs", json={**body, "params": {"sensors": "nope"}}).json()
        drain_jobs(app.state.platform)
        assert (
            "sensor column nope not in the dataset"
            in (client.get(f"/api/runs/{failing['id']}").json()["error"])
        )
        # Two watchers over one folder (two workers on one share): the file is handled once.
        platform = app.state.platform
        inbound = tmp_path / "data" / "inbound"
        write_csv(inbound / "pump-a.csv", sensor_frame(300))
        first, second = InboundWatcher(platform), InboundWatcher(platform)
        assert first.scan(now=0.0) == second.scan(now=0.0) == []
        started = first.scan(now=5.0) + second.scan(now=5.0)
        assert len(started) == 1
        with platform.unit_of_work() as session:
            assert len(list(session.scalars(select(InboundFile)))) == 1
        assert client.delete(f"/api/datasets/{dataset_id}").status_code == 204
