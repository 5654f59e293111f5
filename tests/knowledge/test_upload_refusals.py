"""Uploads refused at the door get the right status at once and leave no document row; a job
whose every document failed fails, and one partly failed says so."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aiharness.app import create_app
from tests.knowledge import kb_fixtures
from tests.knowledge.kb_fixtures import PUMP_KO, drain_jobs, kb_settings_for

pytestmark = pytest.mark.integration

kb_app = kb_fixtures.kb_app
kb_client = kb_fixtures.kb_client
kb_settings = kb_fixtures.kb_settings
run_jobs = kb_fixtures.run_jobs


def _upload(client: TestClient, files: list[tuple[str, bytes]]) -> object:
    parts = [("files", (name, body)) for name, body in files]
    return client.post("/api/collections/plant/documents", files=parts)


@pytest.mark.parametrize(
    ("name", "body", "status", "reason"),
    [
        ("../../etc/passwd.txt", b"root", 422, "invalid"),
        ("photo.png", b"\x89PNG\r\n", 415, "unsupported"),
        ("README", b"no extension", 415, "unsupported"),
    ],
)
def test_a_single_refused_file_is_a_4xx_with_the_reason(
    kb_client: TestClient, name: str, body: bytes, status: int, reason: str
) -> None:
    kb_client.post("/api/collections", json={"name": "plant"})
    response = _upload(kb_client, [(name, body)])
    assert response.status_code == status  # type: ignore[attr-defined]
    error = response.json()["error"]  # type: ignore[attr-defined]
    assert error["code"] == "upload_refused"
    assert error["details"][0]["reason"] == reason
    assert kb_client.get("/api/documents").json()["total"] == 0
    assert kb_client.get("/api/jobs").json()["total"] == 0


def test_an_oversized_single_upload_is_413(tmp_path: Path) -> None:
    with TestClient(create_app(kb_settings_for(tmp_path, max_upload_mb=0.001))) as client:
        client.post("/api/collections", json={"name": "plant"})
        response = _upload(client, [("big.txt", b"x" * 5000)])
        assert response.status_code == 413  # type: ignore[attr-defined]
        assert "upload limit" in response.json()["error"]["message"]  # type: ignore[attr-defined]
        assert client.get("/api/documents").json()["total"] == 0


def test_several_files_get_per_file_outcomes(kb_client: TestClient) -> None:
    kb_client.post("/api/collections", json={"name": "plant"})
    response = _upload(kb_client, [("pump.txt", PUMP_KO.encode()), ("x.exe", b"MZ")])
    assert response.status_code == 202  # type: ignore[attr-defined]
    outcomes = {d["file_name"]: d for d in response.json()["documents"]}  # type: ignore[attr-defined]
    assert outcomes["pump.txt"]["outcome"] == "queued"
    assert (outcomes["x.exe"]["outcome"], outcomes["x.exe"]["reason"]) == (
        "rejected",
        "unsupported",
    )
    assert [d["file_name"] for d in kb_client.get("/api/documents").json()["items"]] == ["pump.txt"]


def test_a_job_whose_every_document_failed_fails(
    kb_client: TestClient, run_jobs: Callable[[], list[str]]
) -> None:
    kb_client.post("/api/collections", json={"name": "plant"})
    response = _upload(kb_client, [("empty.txt", b"")])
    job_id = response.json()["job_ids"][0]  # type: ignore[attr-defined]
    run_jobs()
    job = kb_client.get(f"/api/jobs/{job_id}").json()
    assert job["status"] == "failed"
    assert job["error"].endswith("all 1 document failed: empty.txt is empty.")
    assert kb_client.get("/api/documents").json()["items"][0]["status"] == "failed"
    assert drain_jobs(kb_client.app.state.platform) == []  # type: ignore[attr-defined]
