"""HTTP API, the hidden /jobs alias, the UI pages and HTMX actions, /ready and /metrics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aiharness.app import create_app
from aiharness.config import Settings
from aiharness.db.engine import session_scope
from aiharness.jobs import lifecycle
from aiharness.platform import Platform
from tests.jobs.conftest import jobs_settings

pytestmark = pytest.mark.integration
HTML = {"accept": "text/html"}


def _client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def app_settings(tmp_path: Path, sqlite_queue_url: str) -> Settings:
    db = f"sqlite:///{tmp_path / 'data' / 'aiharness.db'}"
    return jobs_settings(tmp_path, db, sqlite_queue_url)


@pytest.fixture
def client(app_settings: Settings) -> Iterator[TestClient]:
    yield from _client(app_settings)


def _platform(client: TestClient) -> Platform:
    platform: Platform = client.app.state.platform  # type: ignore[attr-defined]
    return platform


def _submit(client: TestClient, job_type: str = "noop", **params: object) -> str:
    response = client.post("/api/jobs", json={"type": job_type, "params": params})
    assert response.status_code == 201, response.text
    job_id: str = response.json()["id"]
    return job_id


def test_submit_list_get(client: TestClient) -> None:
    job_id = _submit(client, "test.record", value=3)
    _submit(client, "sleep", seconds=1)
    listing = client.get("/api/jobs", params={"type": "test.record"}).json()
    assert listing["total"] == 1
    assert listing["items"][0]["id"] == job_id
    assert listing["items"][0]["progress"]["done"] == 0
    detail = client.get(f"/api/jobs/{job_id}").json()
    assert detail["params"] == {"value": 3, "sleep_s": 0.0}
    assert detail["log_tail"] == ""
    assert client.get("/api/jobs", params={"status": "queued"}).json()["total"] == 2


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"type": "nope"}, 422, "unknown_job_type"),
        ({"type": "sleep", "params": {"seconds": "long"}}, 422, "invalid_job_params"),
        ({"type": "sleep", "params": {"seconds": 1, "secnods": 1}}, 422, "invalid_job_params"),
        ({"type": "sleep", "params": {"seconds": 1}}, 201, None),
        ({"params": {}}, 422, "validation_error"),
    ],
)
def test_submit_validation(
    client: TestClient, body: dict[str, object], status: int, code: str | None
) -> None:
    response = client.post("/api/jobs", json=body)
    assert response.status_code == status
    if code:
        assert response.json()["error"]["code"] == code
        assert client.get("/api/jobs").json()["total"] == 0


def test_cancel_and_retry_endpoints(client: TestClient) -> None:
    job_id = _submit(client)
    assert client.post(f"/api/jobs/{job_id}/retry").status_code == 409
    cancelled = client.post(f"/api/jobs/{job_id}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    again = client.post(f"/api/jobs/{job_id}/cancel")
    assert again.status_code == 409
    assert "already cancelled" in again.json()["error"]["message"]
    assert client.post(f"/api/jobs/{job_id}/retry").json()["status"] == "queued"
    assert client.get("/api/jobs/missing").status_code == 404


def test_workers_endpoint_shows_live_and_dead(client: TestClient) -> None:
    platform = _platform(client)
    from datetime import timedelta

    from sqlalchemy import update

    from aiharness.db.base import utcnow
    from aiharness.jobs.models import Worker

    with session_scope(platform.session_factory) as session:
        for worker_id in ("alive", "gone"):
            lifecycle.heartbeat(
                session=session,
                worker_id=worker_id,
                host="h",
                pid=1,
                queue="default",
                concurrency=2,
                version="0.1.0",
                current_jobs=["abc"],
                jobs_succeeded=1,
                jobs_failed=0,
                started_at=utcnow(),
            )
        session.execute(
            update(Worker)
            .where(Worker.id == "gone")
            .values(last_seen=utcnow() - timedelta(minutes=5))
        )
    body = client.get("/api/workers").json()
    assert [(w["id"], w["state"]) for w in body["items"]] == [("alive", "live"), ("gone", "dead")]
    assert (body["live"], body["dead"]) == (1, 1)
    panel = client.get("/ui/partials/workers").text
    assert 'data-state="dead"' in panel
    assert "1 live, 1 dead" in panel


def test_jobs_alias_is_json_for_api_clients_and_a_page_for_browsers(client: TestClient) -> None:
    job_id = _submit(client)
    assert client.get("/jobs").json()["items"][0]["id"] == job_id
    page = client.get("/jobs", headers=HTML)
    assert page.headers["content-type"].startswith("text/html")
    assert f'data-job-id="{job_id}"' in page.text
    assert 'hx-trigger="every 2s' in page.text
    assert "/jobs" not in client.get("/openapi.json").json()["paths"]


def test_ui_actions_answer_with_a_message_and_refresh(client: TestClient) -> None:
    job_id = _submit(client)
    done = client.post(f"/ui/jobs/{job_id}/cancel")
    assert done.headers["hx-trigger"] == "jobs-changed"
    assert "Job cancelled." in done.text
    refused = client.post(f"/ui/jobs/{job_id}/cancel")
    assert refused.status_code == 200  # HTMX swaps only 2xx; the message says what went wrong
    assert 'class="flash down"' in refused.text
    retried = client.post(f"/ui/jobs/{job_id}/retry", params={"lang": "ko"})
    assert "작업을 다시 대기열에 넣었습니다." in retried.text
    detail = client.get(f"/jobs/{job_id}", params={"lang": "en"}, headers=HTML)
    assert "retried by hand" in detail.text
    partial = client.get("/ui/partials/jobs", params={"status": "queued"})
    assert f'data-job-id="{job_id}"' in partial.text
    assert (
        client.get("/ui/partials/jobs", params={"status": "failed"}).text.count("data-job-id") == 0
    )
    assert client.get("/jobs/nope", headers=HTML).status_code == 404


def test_failed_job_page_shows_error_and_traceback(client: TestClient) -> None:
    platform = _platform(client)
    job_id = _submit(client, "test.record")
    with session_scope(platform.session_factory) as session:
        claim = lifecycle.claim_job(session=session, job_id=job_id, worker_id="w")
        assert claim is not None
        lifecycle.finish_job(
            session=session,
            claim=claim,
            status="failed",
            done=3,
            total=10,
            message="parsing",
            log_tail="[00:00:00] started\n",
            error="ValueError: <bad> input",
            error_traceback="Traceback (most recent call last):\n  ValueError",
        )
    page = client.get(f"/jobs/{job_id}", headers=HTML).text
    assert "ValueError: &lt;bad&gt; input" in page  # escaped
    assert "Traceback (most recent call last)" in page
    assert 'max="10" value="3"' in page
    assert 'data-action="retry"' in page


def test_ready_and_metrics_report_the_queue(client: TestClient) -> None:
    _submit(client)
    ready = client.get("/ready").json()
    assert ready["checks"]["queue"]["status"] == "ok"
    assert "1 waiting" in ready["checks"]["queue"]["detail"]
    metrics = client.get("/metrics").text
    assert 'aiharness_jobs{status="queued",type="noop"} 1.0' in metrics
    assert 'aiharness_queue_depth{queue="default",state="ready"} 1.0' in metrics
    assert 'aiharness_workers{state="live"} 0.0' in metrics
    assert "aiharness_job_duration_seconds" in metrics


def test_api_keeps_serving_when_the_queue_is_down(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'data' / 'aiharness.db'}"
    settings = jobs_settings(tmp_path, db, "redis://127.0.0.1:1/0")
    for client in _client(settings):
        response = client.post("/api/jobs", json={"type": "noop"})
        assert response.status_code == 201
        body = response.json()
        assert body["status"] == "queued"
        assert "waiting for the queue" in body["status_reason"]
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["queue"]["status"] == "down"
        assert "redis 127.0.0.1:1/0" in ready.json()["checks"]["queue"]["detail"]
        assert client.get("/api/jobs").json()["total"] == 1
        assert client.get("/metrics").status_code == 200
