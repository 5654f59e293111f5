"""Oversized requests against a real `aiharness up`: the platform's JSON error, never
uvicorn's plain-text 400."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.fixtures.servers import RunningPlatform, start_platform

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    running = start_platform(tmp_path_factory.mktemp("oversized") / "data", args=("--no-worker",))
    yield running
    running.stop()


def _get(platform: RunningPlatform, target: str) -> tuple[int, Any, str]:
    # httpx refuses to build URLs this long; http.client sends what it is given, as curl does.
    host, port = platform.base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        return response.status, json.loads(response.read()), response.getheader("content-type", "")
    finally:
        connection.close()


def test_a_100_kb_query_is_a_json_error(platform: RunningPlatform) -> None:
    query = urlencode({"q": "pump " * 20_000})  # 100 KB: past the 64 KB URL limit
    status, body, content_type = _get(platform, f"/api/rag/search?{query}")
    assert status == 400
    assert content_type == "application/json"
    assert "could not be read" in body["error"]["message"]


def test_a_long_query_under_the_url_limit_is_a_json_422(platform: RunningPlatform) -> None:
    query = urlencode({"q": "pump " * 6_000})  # 30 KB: past uvicorn's default 16 KB head
    status, body, _ = _get(platform, f"/api/rag/search?{query}")
    assert status == 422
    assert body["error"]["code"] == "validation_error"
