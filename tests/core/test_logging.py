from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from fastapi.testclient import TestClient

from aiharness.app import create_app
from aiharness.config import Settings
from aiharness.observability.logging import configure_logging, get_logger

pytestmark = pytest.mark.unit


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("info", "json", stream=stream)
    yield stream
    logging.getLogger().handlers.clear()
    structlog.reset_defaults()


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_lines_are_masked(log_stream: io.StringIO) -> None:
    get_logger("t").info(
        "user signed in", email="lee@example.com", password="pw", note="010-2222-3333"
    )
    logging.getLogger("stdlib").warning("mail to park@example.org failed")
    first, second = _lines(log_stream)
    assert first["email"] == "[EMAIL]"
    assert first["password"] == "[REDACTED]"
    assert "2222" not in str(first["note"])
    assert second["event"] == "mail to [EMAIL] failed"
    assert second["level"] == "warning"


def test_every_log_line_of_a_request_carries_its_request_id(
    log_stream: io.StringIO, settings: Settings
) -> None:
    with TestClient(create_app(settings)) as client:
        response = client.get("/api/events", headers={"X-Request-ID": "req-42"})
        assert response.headers["x-request-id"] == "req-42"
        generated = client.get("/api/events").headers["x-request-id"]
    lines = _lines(log_stream)
    mine = [line for line in lines if line.get("request_id") == "req-42"]
    assert mine and any(line["event"] == "request" and line["status"] == 200 for line in mine)
    assert len(generated) == 32
    assert any(line.get("request_id") == generated for line in lines)


def test_an_invalid_request_id_is_replaced(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        response = client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert response.headers["x-request-id"] != "bad id\twith spaces"


@pytest.mark.parametrize("sent", ["010-1234-5678", "kim@corp.kr", "x" * 129])
def test_a_request_id_that_carries_personal_data_is_replaced(
    settings: Settings, log_stream: io.StringIO, sent: str
) -> None:
    with TestClient(create_app(settings)) as client:
        response = client.get("/api/events", headers={"X-Request-ID": sent})
    assert response.headers["x-request-id"] != sent
    assert sent not in log_stream.getvalue()
