"""Request body limits on every route: a declared Content-Length over the limit, or a chunked
body that grows past it, is a JSON 413 (OpenAI's shape on /v1), never a read without end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from aiharness.api_errors import iter_routes
from aiharness.app import create_app
from aiharness.features import make_settings

pytestmark = pytest.mark.integration
KB = 1024


@pytest.fixture
def small(tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(
        data_dir=tmp_path / "data",
        log_format="json",
        jobs={"worker_enabled": False},
        knowledge={"demo_ingest": "off"},
        limits={"max_body_mb": 4 / 1024, "max_upload_request_mb": 64 / 1024},  # 4 KB, 64 KB
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_a_declared_oversized_json_body_is_a_413(small: TestClient) -> None:
    response = small.post("/api/collections", json={"name": "big", "description": "x" * (8 * KB)})
    assert response.status_code == 413
    body = response.json()["error"]
    assert body["code"] == "request_entity_too_large" and "4 KB" not in body["message"]
    assert "MB" in body["message"] and body["details"]["limit_bytes"] == 4 * KB
    assert small.post("/api/collections", json={"name": "small"}).status_code == 201


def test_a_chunked_body_that_grows_past_the_limit_is_a_413(small: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "chunked", "description": "'
        for _ in range(16):
            yield b"x" * KB
        yield b'"}'

    response = small.post(
        "/api/collections", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_entity_too_large"
    assert small.get("/api/collections/chunked").status_code == 404


def test_v1_answers_in_openai_shape(small: TestClient) -> None:
    response = small.post(
        "/v1/chat/completions",
        json={"model": "x", "messages": [{"role": "user", "content": "y" * (8 * KB)}]},
    )
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_uploads_have_their_own_larger_limit(small: TestClient) -> None:
    small.post("/api/collections", json={"name": "docs"})
    fine = small.post(
        "/api/collections/docs/documents",
        files=[("files", ("a.txt", b"pump maintenance\n" * 1000, "text/plain"))],  # 17 KB
    )
    assert fine.status_code in (200, 201, 202), fine.text
    too_big = small.post(
        "/api/collections/docs/documents",
        files=[("files", ("b.txt", b"x" * (80 * KB), "text/plain"))],
    )
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "request_entity_too_large"


def test_every_route_that_takes_a_body_refuses_an_oversized_one(small: TestClient) -> None:
    routes = [r for r in iter_routes(list(small.app.routes)) if isinstance(r, APIRoute)]  # type: ignore[attr-defined]
    tried = 0
    for route in routes:
        for method in sorted((route.methods or set()) - {"GET", "HEAD", "OPTIONS"}):
            path = route.path.replace("{", "").replace("}", "")  # any value: never reached
            response = small.request(
                method, path, content=b"x" * (8 * KB), headers={"content-type": "application/json"}
            )
            assert response.status_code == 413, (method, route.path, response.status_code)
            assert response.json()["error"], (method, route.path)
            tried += 1
    assert tried >= 15
