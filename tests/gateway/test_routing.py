"""Aliases and the ``auto`` chat/code choice (Korean and English), and the circuit breaker."""

from __future__ import annotations

import pytest

from aiharness.features import make_settings
from aiharness.gateway.breaker import CircuitBreaker
from aiharness.gateway.routing import alias_table, choose_alias, looks_like_code
from aiharness.gateway.settings import GatewaySettings

pytestmark = pytest.mark.unit


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


@pytest.mark.parametrize(
    "text",
    [
        "```python\nprint('x')\n```",
        'Traceback (most recent call last):\n  File "a.py", line 1',
        "ValueError: invalid literal for int() with base 10",
        "main.rs 파일에서 빌드가 안 돼요",
        "파이썬 함수가 리스트를 반환하지 않아요",
        "자바스크립트 배열을 정렬하는 코드 좀",
        "How do I write a Python function that parses JSON?",
        "def add(a, b):\n    return a + b",
        "git rebase 충돌은 어떻게 풀어?",
        "    at com.plant.Pump.start(Pump.java:42)",
    ],
)
def test_code_requests_go_to_code(text: str) -> None:
    assert looks_like_code(user(text))
    assert choose_alias("auto", user(text)) == "code"


@pytest.mark.parametrize(
    "text",
    [
        "안녕하세요, 오늘 회의 내용을 요약해 주세요.",
        "펌프 P-101의 진동이 심합니다. 점검 절차를 알려 주세요.",
        "What is the recommended maintenance interval for a centrifugal pump?",
        "Write a polite email to the supplier about the delayed valves.",
        "보일러 안전 점검 항목은 무엇인가요?",
    ],
)
def test_everything_else_goes_to_chat(text: str) -> None:
    assert not looks_like_code(user(text))
    assert choose_alias("auto", user(text)) == "chat"


def test_only_the_last_user_message_decides_and_named_models_stay() -> None:
    messages = [*user("```js\nx()\n```"), {"role": "assistant", "content": "ok"}]
    messages += user("고마워요, 이제 점심 메뉴 추천해 줘")
    assert choose_alias("auto", messages) == "chat"
    assert choose_alias("code", user("hello")) == "code"
    parts = [{"role": "user", "content": [{"type": "text", "text": "def f(): pass"}]}]
    assert choose_alias("auto", parts) == "code"


def section(**values: object) -> GatewaySettings:
    return GatewaySettings.of(make_settings(gateway=values))


def b(name: str, priority: int, *caps: str) -> dict[str, object]:
    url = f"http://127.0.0.1:9/{name}"
    return {
        "name": name,
        "base_url": url,
        "model": name + "-m",
        "priority": priority,
        "capabilities": list(caps),
    }


def test_aliases_default_to_capabilities_by_priority_and_configured_ones_win() -> None:
    table = alias_table(
        section(backends=[b("big", 2, "chat"), b("small", 1, "chat"), b("coder", 1, "code")])
    )
    assert table["chat"] == ["small", "big"]
    assert table["code"] == ["coder"]
    assert table["small"] == ["small"] and table["coder-m"] == ["coder"]
    custom = alias_table(
        section(backends=[b("x", 1, "chat"), b("y", 2, "chat")], aliases={"chat": ["y", "x"]})
    )
    assert custom["chat"] == ["y", "x"]


def test_a_single_backend_from_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIHARNESS_GATEWAY__BASE_URL", "http://127.0.0.1:8080/v1")
    monkeypatch.setenv("AIHARNESS_GATEWAY__MODEL", "qwen2.5-3b")
    table = alias_table(GatewaySettings.of(make_settings()))
    assert table["chat"] == ["default"] and table["code"] == ["default"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"aliases": {"chat": ["nope"]}}, "unknown backends"),
        ({"backends": [b("x", 1, "chat"), b("x", 2, "chat")]}, "named twice"),
        ({"base_url": "http://h/v1"}, "needs gateway.model"),
        ({"backends": [{"name": "x", "base_url": "ftp://h", "model": "m"}]}, "http://"),
    ],
)
def test_inconsistent_settings_are_refused(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        section(**values)


def state(breaker: CircuitBreaker) -> str:
    return breaker.state  # a plain str: mypy would narrow the Literal across calls


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_opens_cools_down_and_probes_once() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=2, cooldown_s=10, max_cooldown_s=25, clock=clock)
    breaker.failure("boom")
    assert state(breaker) == "closed" and breaker.try_acquire()
    breaker.failure("boom")
    assert state(breaker) == "open" and not breaker.try_acquire()
    assert breaker.retry_after_s() == 10
    clock.now += 10
    assert state(breaker) == "half-open"
    assert breaker.try_acquire() and not breaker.try_acquire()  # one trial at a time
    breaker.failure("still down")
    assert state(breaker) == "open" and breaker.retry_after_s() == 20  # doubled
    clock.now += 20
    assert breaker.try_acquire()
    breaker.failure("still down")
    assert breaker.retry_after_s() == 25  # capped
    clock.now += 25
    assert breaker.try_acquire()
    breaker.success()
    assert state(breaker) == "closed" and breaker.failures == 0


def test_a_trial_without_verdict_frees_the_slot() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, cooldown_s=1, max_cooldown_s=1, clock=clock)
    breaker.failure("x")
    clock.now += 1
    assert breaker.try_acquire()
    breaker.release()
    assert breaker.try_acquire()


def test_the_documented_example_config_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    from aiharness.features import load_settings

    example = Path(__file__).parents[2] / "examples" / "gateway.toml"
    monkeypatch.setenv("AIHARNESS_CONFIG_FILE", str(example))
    table = alias_table(GatewaySettings.of(load_settings()))
    assert table["code"] == ["gpu2-code", "ws-ollama"]
    assert table["chat"] == ["gpu1-chat", "gpu2-code", "ws-ollama"]
