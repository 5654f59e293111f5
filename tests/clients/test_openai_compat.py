"""The shared OpenAI-compatible client core: headers, error messages, retry decisions."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from aiharness.clients.openai_compat import (
    OpenAICompatClient,
    OpenAICompatError,
    auth_headers,
    backoff_s,
    error_message,
)
from tests.fixtures.fake_embeddings import FakeEmbeddingsServer

pytestmark = pytest.mark.unit


def test_bearer_header_only_with_a_key() -> None:
    assert "Authorization" not in auth_headers(None)
    assert "Authorization" not in auth_headers("")
    assert auth_headers(SecretStr("k1"))["Authorization"] == "Bearer k1"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"error": {"message": "model not found", "type": "invalid"}}', "model not found"),
        ('{"error": "overloaded"}', "overloaded"),
        ('{"detail": "Not Found"}', "Not Found"),
        ("<html>bad gateway</html>", "<html>bad gateway</html>"),
        ("", "Bad Gateway"),
    ],
)
def test_error_message_finds_the_servers_words(body: str, expected: str) -> None:
    assert error_message(502, body.encode(), "Bad Gateway") == expected


def test_retry_decisions_and_backoff() -> None:
    assert OpenAICompatError("down").retryable  # no answer at all
    assert OpenAICompatError("busy", status_code=429).retryable
    assert not OpenAICompatError("bad request", status_code=400).retryable
    assert [backoff_s(n) for n in range(5)] == [0.2, 0.4, 0.8, 1.6, 2.0]


@pytest.mark.integration
def test_post_json_retries_then_reports_the_server_message() -> None:
    fake = FakeEmbeddingsServer(backend="hash", dim=4)
    client = OpenAICompatClient(base_url=fake.url, max_retries=1, label="embedding server")
    body = {"model": "m", "input": ["a"]}
    try:
        fake.fail_statuses = [503]
        assert len(client.post_json("/embeddings", body)["data"]) == 1  # the retry succeeded
        fake.fail_statuses = [500, 500]
        with pytest.raises(OpenAICompatError, match="HTTP 500: injected failure 500") as caught:
            client.post_json("/embeddings", body)
        assert caught.value.status_code == 500
        fake.fail_statuses = [400]
        with pytest.raises(OpenAICompatError, match="HTTP 400"):
            client.post_json("/embeddings", body)
        assert len(fake.requests) == 5  # 2 + 2 + 1: client errors are not retried
    finally:
        client.close()
        fake.close()
