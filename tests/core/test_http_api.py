from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from aiharness.app import create_app
from aiharness.config import ConfigError, Settings

pytestmark = pytest.mark.integration


def test_health_and_its_alias(client: TestClient) -> None:
    for path in ("/health", "/api/health"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


def test_ready_reports_each_dependency(client: TestClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["database"]["required"] is True
    for alias in ("/status", "/api/status"):
        assert client.get(alias).json()["checks"].keys() == body["checks"].keys()


def test_ready_is_503_with_retry_after_when_the_database_is_behind(client: TestClient) -> None:
    engine = client.app.state.platform.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff_from_the_future'"))
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    body = response.json()
    assert body["status"] == "degraded"
    assert "does not know" in body["checks"]["database"]["detail"]
    assert client.get("/health").status_code == 200


def test_a_schema_behind_without_auto_migrate_refuses_to_start_in_one_line(
    settings: Settings,
) -> None:
    settings = settings.model_copy(update={"auto_migrate": False})
    with pytest.raises(ConfigError, match="aiharness db upgrade"):
        create_app(settings)


def test_metrics_are_prometheus_text_with_route_labels(client: TestClient) -> None:
    client.get("/health")
    client.get("/api/events/999999")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    body = response.text
    assert 'aiharness_http_requests_total{method="GET",route="/health",status="200"}' in body
    assert 'route="/api/events/{event_id}",status="404"' in body
    assert "aiharness_http_request_duration_seconds_bucket" in body
    assert "process_resident_memory_bytes" in body


def test_openapi_docs_hide_the_aliases(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/health", "/ready", "/metrics", "/api/events"} <= paths.keys()
    assert not {"/api/health", "/status", "/api/status"} & paths.keys()


def test_errors_are_json_with_code_message_details(client: TestClient) -> None:
    missing = client.get("/no/such/thing")
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {"code": "not_found", "message": "Not Found", "details": None}
    }

    event = client.get("/api/events/12345")
    assert event.status_code == 404
    assert event.json()["error"]["message"] == "event 12345 does not exist"

    invalid = client.get("/api/events", params={"limit": "many"})
    assert invalid.status_code == 422
    error = invalid.json()["error"]
    assert error["code"] == "validation_error"
    assert "limit" in error["message"]
    assert error["details"][0]["location"] == "query.limit"

    not_allowed = client.post("/health")
    assert not_allowed.status_code == 405
    assert not_allowed.json()["error"]["code"] == "method_not_allowed"


def test_an_unhandled_error_is_a_json_500_with_the_request_id(settings: Settings) -> None:
    app = create_app(settings)

    def explode() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/explode", explode)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/explode", headers={"X-Request-ID": "r-500"})
        assert client.get("/health").status_code == 200
    assert response.status_code == 500
    body = response.json()
    assert body["error"]["code"] == "internal_error"
    assert body["error"]["details"] == {"request_id": "r-500"}
    assert "boom" not in response.text
    assert response.headers["x-request-id"] == "r-500"


def test_platform_start_and_stop_are_recorded(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        kinds = [e["kind"] for e in client.get("/api/events").json()["items"]]
        assert kinds == ["platform.started"]
    with TestClient(create_app(settings)) as client:
        page = client.get("/api/events", params={"kind": "platform.stopped"}).json()
        assert page["total"] == 1
