"""Fault injection: backends that refuse, answer 500/429, hang before the first token or break
a stream half-way. Failover, cooldown, continuation and the 503 path, through real HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.gateway.conftest import Gateway, backend
from tests.gateway.fake_llm import FakeLLM, closed_port_url

pytestmark = pytest.mark.integration
HELLO = [{"role": "user", "content": "hello"}]


def chat(gw: Gateway, **extra: Any) -> httpx.Response:
    body = {"model": "chat", "messages": HELLO, **extra}
    return httpx.post(gw.url + "/v1/chat/completions", json=body, timeout=30)


def stream_text(gw: Gateway, **extra: Any) -> tuple[str, list[dict[str, Any]], list[str]]:
    """The streamed answer's text, its chunks and the raw ``data:`` lines."""
    body = {"model": "chat", "messages": HELLO, "stream": True, **extra}
    lines: list[str] = []
    with httpx.stream("POST", gw.url + "/v1/chat/completions", json=body, timeout=30) as r:
        assert r.status_code == 200, r.read()
        lines = [line for line in r.iter_lines() if line]
    chunks = [json.loads(line[6:]) for line in lines if line != "data: [DONE]"]
    text = "".join(
        c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices")
    )
    return text, chunks, lines


def two(
    fakes: Callable[..., FakeLLM], gateway: Callable[..., Gateway], **section: Any
) -> tuple[Gateway, FakeLLM, FakeLLM]:
    first, second = fakes("first"), fakes("second")
    gw = gateway(
        {
            "backends": [
                backend("first", first.url, priority=1),
                backend("second", second.url, priority=2),
            ],
            **section,
        }
    )
    return gw, first, second


def test_a_refused_connection_fails_over(
    fakes: Callable[..., FakeLLM], gateway: Callable[..., Gateway]
) -> None:
    alive = fakes("alive")
    gw = gateway(
        {
            "backends": [
                backend("dead", closed_port_url(), priority=1),
                backend("alive", alive.url, priority=2),
            ]
        }
    )
    # How fast (the target is within 1 s) is measured by benchmarks/bench_gateway.py.
    response = chat(gw)
    assert response.status_code == 200 and response.json()["model"] == "alive"
    record = gw.usage()[-1]
    assert (record["route"], record["failovers"], record["backend"]) == ("dead>alive", 1, "alive")


@pytest.mark.parametrize("status", [500, 503, 429])
def test_5xx_and_429_fail_over_to_the_next_backend(
    status: int, fakes: Callable[..., FakeLLM], gateway: Callable[..., Gateway]
) -> None:
    gw, first, second = two(fakes, gateway)
    first.fail_statuses = [status, status]
    assert chat(gw).json()["model"] == "second"
    text, _, _ = stream_text(gw)
    assert text == "w0 w1 w2 w3 w4 w5"
    assert len(second.requests) == 2


def test_a_4xx_from_the_backend_is_the_callers_error_not_a_failover(
    fakes: Callable[..., FakeLLM], gateway: Callable[..., Gateway]
) -> None:
    gw, first, second = two(fakes, gateway)
    first.fail_statuses = [400]
    response = chat(gw)
    assert response.status_code == 400
    assert "injected 400" in response.json()["error"]["message"]
    assert second.requests == []


def test_a_backend_silent_before_the_first_token_is_skipped(
    fakes: Callable[..., FakeLLM], gateway: Callable[..., Gateway]
) -> None:
    first, second = fakes("first"), fakes("second")
    first.hang_s = 60
    gw = gateway(
        {
            "backends": [
                backend("first", first.url, priority=1, first_token_timeout_s=0.5),
                backend("second", second.url, priority=2),
            ]
        }
    )
    started = time.perf_counter()
    text, chunks, _ = stream_text(gw)
    assert text == "w0 w1 w2 w3 w4 w5"
    assert time.perf_counter() - started < 30  # it gave up on the first, never waited it out
    assert {c["model"] for c in chunks} == {"second"}


def test_a_stream_broken_half_way_continues_on_the_next_backend(
    fakes: Callable[..., FakeLLM], gateway: Callable[..., Gateway]
) -> None:
    gw, first, second = two(fakes, gateway)
    first.break_after = 3
    text, chunks, lines = stream_text(gw)
    assert text == "w0 w1 w2 w3 w4 w5"  # one answer, no gap, no repeat
    assert lines[-1] == "data: [DONE]"
    assert len({c["id"] for c in chunks}) == 1 and {c["model"] for c in chunks} == {"first"}
    roles = [c for c in chunks if c["choices"][0]["delta"].get("role")]
    assert len(roles) == 1  # the continuation's role chunk is not repeated
    continued = second.requests[-1]["messages"]
    assert continued[-1] == {"role": "assistant", "content": "w0 w1 w2"}
    record = gw.usage()[-1]
    assert record["route"] == "first>>second" and record["failovers"] == 1
    assert record["status"] == "ok" and record["backend"] == "second"


def test_a_backend_that_keeps_failing_cools_down_then_comes_back(
    fakes: Callable[..., FakeLLM], gateway: Callable[..., Gateway]
) -> None:
    gw, first, _second = two(fakes, gateway, failure_threshold=2, cooldown_s=0.6)
    first.fail_statuses = [500, 500]
    chat(gw)
    chat(gw)
    assert gw.runtime.slots["first"].breaker.state == "open"
    before = len(first.requests)
    assert chat(gw).json()["model"] == "second"
    assert len(first.requests) == before  # skipped while cooling down
    status = httpx.get(gw.url + "/api/gateway/status").json()
    assert status["backends"][0]["breaker"] == "open"
    time.sleep(0.7)  # half-open: the next request is the trial, and it succeeds
    assert chat(gw).json()["model"] == "first"
    assert str(gw.runtime.slots["first"].breaker.state) == "closed"


def test_every_backend_down_is_503_with_retry_after(
    fakes: Callable[..., FakeLLM], gateway: Callable[..., Gateway]
) -> None:
    gw, first, second = two(fakes, gateway, failure_threshold=1, cooldown_s=7)
    first.fail_statuses = [500]
    second.fail_statuses = [502]
    response = chat(gw)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "all_backends_down"
    assert "first" in response.json()["error"]["message"]
    # Both are cooling down now: the gateway answers at once and says when to come back.
    again = chat(gw, stream=True)
    assert again.status_code == 503
    assert 1 <= int(again.headers["Retry-After"]) <= 7
    statuses = [r["status"] for r in gw.usage(at_least=2)]
    assert statuses[-2:] == ["unavailable", "unavailable"]


def test_the_ready_check_reports_backends_but_never_makes_the_platform_unready(
    gateway: Callable[..., Gateway],
) -> None:
    gw = gateway({"backends": [backend("dead", closed_port_url())], "health_interval_s": 0.2})
    deadline = time.monotonic() + 10
    while gw.runtime.slots["dead"].health.status != "down" and time.monotonic() < deadline:
        time.sleep(0.05)
    ready = httpx.get(gw.url + "/ready")
    assert ready.status_code == 200
    check = ready.json()["checks"]["llm"]
    assert check["status"] == "down" and check["required"] is False
    assert "dead down" in check["detail"]
