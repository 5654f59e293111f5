"""Limits against a real ``aiharness up`` (uvicorn): an oversized body is a JSON 413 that the
client receives before sending everything, and the rate limit's 429 carries Retry-After."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import httpx
import pytest

from tests.fixtures.servers import RunningPlatform, start_platform
from tests.limits.test_rate_limits import away_from_a_window_edge

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    running = start_platform(
        tmp_path_factory.mktemp("limits") / "data",
        args=("--no-worker",),
        extra_env={"AIHARNESS_LIMITS__MAX_BODY_MB": "1", "AIHARNESS_LIMITS__V1_PER_MINUTE": "3"},
    )
    yield running
    running.stop()


def test_a_declared_20_mb_body_is_refused_before_it_is_sent(platform: RunningPlatform) -> None:
    host, port = platform.base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.putrequest("POST", "/api/collections")
        connection.putheader("content-type", "application/json")
        connection.putheader("content-length", str(20 * 1024 * 1024))
        connection.endheaders()
        connection.send(b'{"name": "x", "description": "' + b"x" * 65536)  # a first slice only
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 413
    assert body["error"]["code"] == "request_entity_too_large"
    assert httpx.get(f"{platform.base_url}/health").status_code == 200  # the server is fine


def test_a_chunked_oversized_body_is_a_413(platform: RunningPlatform) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "y", "description": "'
        for _ in range(40):
            yield b"y" * 65536
        yield b'"}'

    response = httpx.post(
        f"{platform.base_url}/api/collections",
        content=chunks(),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413
    assert response.json()["error"]["message"].startswith("request body larger than")


def test_the_v1_rate_limit_answers_429_with_retry_after(platform: RunningPlatform) -> None:
    away_from_a_window_edge()
    statuses = [httpx.get(f"{platform.base_url}/v1/models").status_code for _ in range(4)]
    assert statuses[:3] == [200, 200, 200] and statuses[3] == 429
    refused = httpx.get(f"{platform.base_url}/v1/models")
    assert refused.json()["error"]["type"] == "rate_limit_error"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
