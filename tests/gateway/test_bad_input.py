"""Bad input gets OpenAI-style 4xx errors with a clear message, never a 500; a client that
leaves mid-stream cancels the backend request and its usage record says so."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.gateway.conftest import Gateway, backend
from tests.gateway.fake_llm import FakeLLM

pytestmark = pytest.mark.integration


@pytest.fixture
def gw(fakes: Callable[..., FakeLLM], gateway: Callable[..., Gateway]) -> Gateway:
    server = fakes("small")
    return gateway(
        {
            "backends": [backend("small", server.url, context_length=512)],
            "max_tokens_limit": 4096,
        }
    )


def post(gw: Gateway, body: Any, path: str = "/v1/chat/completions") -> httpx.Response:
    if isinstance(body, bytes):
        return httpx.post(gw.url + path, content=body, headers={"Content-Type": "application/json"})
    return httpx.post(gw.url + path, json=body, timeout=30)


def openai_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    return dict(error)


HELLO = [{"role": "user", "content": "hi"}]


def test_unknown_model_is_404_model_not_found(gw: Gateway) -> None:
    error = openai_error(post(gw, {"model": "gpt-17", "messages": HELLO}), 404)
    assert error["code"] == "model_not_found" and "chat" in error["message"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "chat"}, "messages"),
        ({"model": "chat", "messages": []}, "messages"),
        ({"model": "chat", "messages": "hi"}, "messages"),
        ({"model": "chat", "messages": [{"content": "no role"}]}, "messages[0].role"),
        ({"model": "chat", "messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"messages": HELLO}, "model"),
        ({"model": "chat", "messages": HELLO, "stream": "yes"}, "stream"),
    ],
)
def test_malformed_requests_are_400_naming_the_parameter(
    gw: Gateway, body: dict[str, Any], param: str
) -> None:
    error = openai_error(post(gw, body), 400)
    assert error["type"] == "invalid_request_error" and error["param"] == param


def test_invalid_json_is_400(gw: Gateway) -> None:
    error = openai_error(post(gw, b'{"model": "chat", "messages": ['), 400)
    assert error["code"] == "invalid_json"
    openai_error(post(gw, b"[1, 2]"), 400)
    openai_error(post(gw, b"\xff\xfe", "/v1/embeddings"), 400)


def test_a_prompt_over_the_context_length_is_400(gw: Gateway) -> None:
    long = [{"role": "user", "content": "펌프 점검 " * 1000}]
    error = openai_error(post(gw, {"model": "chat", "messages": long}), 400)
    assert error["code"] == "context_length_exceeded" and "512" in error["message"]


@pytest.mark.parametrize("max_tokens", [0, -5, 10**9, "many", 2048])
def test_absurd_max_tokens_is_400(gw: Gateway, max_tokens: Any) -> None:
    body = {"model": "chat", "messages": HELLO, "max_tokens": max_tokens}
    error = openai_error(post(gw, body), 400)
    assert error["param"] == "max_tokens"


def test_bad_embeddings_input_is_400(gw: Gateway) -> None:
    for body in ({"model": "embeddings"}, {"model": "embeddings", "input": [""]}):
        openai_error(post(gw, body, "/v1/embeddings"), 400)
    error = openai_error(post(gw, {"model": "small", "input": "x"}, "/v1/embeddings"), 400)
    assert "does not serve embeddings" in error["message"]


def test_a_client_that_leaves_mid_stream_cancels_the_backend_request(
    fakes: Callable[..., FakeLLM], gateway: Callable[..., Gateway]
) -> None:
    slow = fakes("slow", words=200)
    slow.token_delay_s = 0.05
    gw = gateway({"backends": [backend("slow", slow.url)]})
    body = {"model": "chat", "messages": HELLO, "stream": True}
    with httpx.stream("POST", gw.url + "/v1/chat/completions", json=body, timeout=30) as r:
        lines = r.iter_lines()
        assert next(lines).startswith("data: ")
        assert next(lines) == ""
        assert next(lines).startswith("data: ")
    # The client closed the connection after two events of 200.
    deadline = time.monotonic() + 10
    while slow.disconnects == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert slow.disconnects == 1  # the gateway dropped its request to the backend
    record = gw.usage()[-1]
    assert record["status"] == "cancelled" and record["completion_tokens"] < 200
    # Nothing leaked: the backend's concurrency slot came back, and the next request works.
    assert (
        httpx.post(gw.url + "/v1/chat/completions", json={**body, "stream": False}).status_code
        == 200
    )
