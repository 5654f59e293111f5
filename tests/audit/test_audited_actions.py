"""Each audited change leaves one row, through the API, with the request's id; a change that is
refused or fails leaves no "ok" row (the audit write is part of the change's transaction)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from aiharness.app import create_app
from aiharness.features import make_settings
from tests.fixtures.jobs import drain_jobs
from tests.pipelines.pl_fixtures import sensor_frame, write_csv

pytestmark = pytest.mark.integration


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    config = tmp_path / "aiharness.toml"
    config.write_text("[gateway]\ncooldown_s = 5\n")
    monkeypatch.setenv("AIHARNESS_CONFIG_FILE", str(config))
    return create_app(
        make_settings(
            data_dir=tmp_path / "data",
            log_format="json",
            log_level="warning",
            jobs={"worker_enabled": False},
            knowledge={"demo_ingest": "off"},
            gateway={"health_interval_s": 3600},
        )
    )


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def run_jobs(app: FastAPI) -> Callable[[], list[str]]:
    return lambda: drain_jobs(app.state.platform)


def entries(client: TestClient, **filters: str) -> list[dict[str, Any]]:
    body = client.get("/api/audit", params={"limit": 500, **filters}).json()
    items: list[dict[str, Any]] = body["items"]
    return items


def only(client: TestClient, action: str) -> dict[str, Any]:
    found = entries(client, action=action)
    assert len(found) == 1, found
    return found[0]


def test_knowledge_and_jobs_changes_are_audited(
    client: TestClient, run_jobs: Callable[[], list[str]], tmp_path: Path
) -> None:
    created = client.post("/api/collections", json={"name": "plant"})
    assert (
        only(client, "knowledge.collection.create")["request_id"] == created.headers["x-request-id"]
    )
    upload = client.post(
        "/api/collections/plant/documents",
        files=[("files", ("pump.txt", b"Pump check: bearings weekly.", "text/plain"))],
    )
    assert upload.status_code == 202, upload.text
    uploaded = only(client, "knowledge.upload")
    document_id = upload.json()["documents"][0]["document_id"]
    assert uploaded["target"] == f"document:{document_id}"
    assert uploaded["details"]["file_name"] == "pump.txt"
    assert uploaded["request_id"] == upload.headers["x-request-id"]
    # The same bytes again change nothing: no second row.
    client.post(
        "/api/collections/plant/documents",
        files=[("files", ("pump.txt", b"Pump check: bearings weekly.", "text/plain"))],
    )
    assert len(entries(client, action="knowledge.upload")) == 1

    inbound = tmp_path / "data" / "inbound"
    inbound.mkdir(parents=True, exist_ok=True)
    (inbound / "fan.txt").write_text("Fan check: belts monthly.")
    ingested = client.post("/api/ingest", json={"path": str(inbound), "collection": "plant"})
    assert ingested.status_code == 202, ingested.text
    assert only(client, "knowledge.ingest")["details"]["file_name"] == "fan.txt"
    run_jobs()

    reembed = client.post("/api/collections/plant/reembed", json={"force": True})
    assert reembed.status_code == 202, reembed.text
    job_id = reembed.json()["job_id"]
    assert only(client, "knowledge.reembed")["details"]["job_id"] == job_id
    assert client.post(f"/api/jobs/{job_id}/cancel").status_code == 200
    assert only(client, "jobs.cancel")["target"] == f"job:{job_id}"
    assert client.post(f"/api/jobs/{job_id}/retry").status_code == 200
    assert only(client, "jobs.retry")["details"]["was"] == "cancelled"
    # Cancelling a finished job is refused: no row for it.
    run_jobs()
    assert client.post(f"/api/jobs/{job_id}/cancel").status_code == 409
    assert len(entries(client, action="jobs.cancel")) == 1

    assert client.delete(f"/api/documents/{document_id}").status_code == 204
    assert only(client, "knowledge.document.delete")["target"] == f"document:{document_id}"
    assert client.delete("/api/documents/999999").status_code == 404
    assert len(entries(client, action="knowledge.document.delete")) == 1
    assert client.delete("/api/collections/plant").status_code == 204
    deleted = only(client, "knowledge.collection.delete")
    assert deleted["details"]["documents"] == 1
    assert {e["result"] for e in entries(client)} == {"ok"}


def test_pipelines_changes_are_audited_and_a_refused_one_is_not(
    client: TestClient, run_jobs: Callable[[], list[str]], tmp_path: Path
) -> None:
    csv = write_csv(tmp_path / "data" / "inbound" / "line3.csv", sensor_frame(rows=200))
    registered = client.post("/api/datasets", json={"path": str(csv)})
    assert registered.status_code == 201, registered.text
    dataset_id = registered.json()["dataset"]["id"]
    row = only(client, "pipelines.dataset.register")
    assert row["target"] == f"dataset:{dataset_id}" and row["details"]["version"] == 1
    started = client.post(
        "/api/runs", json={"dataset_id": dataset_id, "pipeline": "sensor_anomaly", "params": {}}
    )
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    assert only(client, "pipelines.run.start")["target"] == f"run:{run_id}"
    # Deleting a dataset a run still uses is refused, and leaves no row.
    assert client.delete(f"/api/datasets/{dataset_id}").status_code == 409
    assert entries(client, action="pipelines.dataset.delete") == []
    assert client.post(f"/api/runs/{run_id}/cancel").status_code == 200
    assert only(client, "pipelines.run.cancel")["target"] == f"run:{run_id}"
    run_jobs()
    assert client.delete(f"/api/datasets/{dataset_id}").status_code == 204
    assert only(client, "pipelines.dataset.delete")["details"]["runs"] == 1


def test_a_gateway_reload_is_audited_and_a_broken_file_is_not(
    client: TestClient, tmp_path: Path
) -> None:
    assert client.post("/api/gateway/reload").status_code == 200
    assert only(client, "gateway.reload")["target"] == "gateway"
    (tmp_path / "aiharness.toml").write_text("[gateway]\nbackends = 7\n")
    assert client.post("/api/gateway/reload").status_code == 422
    assert len(entries(client, action="gateway.reload")) == 1


def test_a_job_submitted_by_hand_is_audited_and_a_refused_one_is_not(client: TestClient) -> None:
    submitted = client.post("/api/jobs", json={"type": "noop"})
    assert submitted.status_code == 201, submitted.text
    row = only(client, "jobs.submit")
    assert row["target"] == f"job:{submitted.json()['id']}" and row["details"]["type"] == "noop"
    assert client.post("/api/jobs", json={"type": "no.such.type"}).status_code == 422
    assert len(entries(client, action="jobs.submit")) == 1
