"""Backends from the config file, and reloading it without a restart (API and SIGHUP)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.gateway.conftest import Gateway
from tests.gateway.fake_llm import FakeLLM

pytestmark = pytest.mark.integration


def write_config(path: Path, name: str, url: str) -> None:
    path.write_text(
        f"""
[gateway]
cooldown_s = 5

[[gateway.backends]]
name = "{name}"
base_url = "{url}"
model = "{name}-model"
capabilities = ["chat", "code"]
"""
    )


def answer_model(gw: Gateway) -> str:
    body = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}
    response = httpx.post(gw.url + "/v1/chat/completions", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return str(response.json()["model"])


def test_reload_applies_the_file_without_a_restart(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fakes: Callable[..., FakeLLM],
    gateway: Callable[..., Gateway],
) -> None:
    one, two = fakes("one"), fakes("two")
    config = tmp_path / "aiharness.toml"
    write_config(config, "one", one.url)
    monkeypatch.setenv("AIHARNESS_CONFIG_FILE", str(config))
    gw = gateway({})
    assert answer_model(gw) == "one"

    write_config(config, "two", two.url)
    report = httpx.post(gw.url + "/api/gateway/reload").json()
    assert (report["added"], report["removed"]) == (["two"], ["one"])
    assert answer_model(gw) == "two"

    config.write_text("[gateway]\nbackends = 7\n")  # broken: the running set-up stays
    refused = httpx.post(gw.url + "/api/gateway/reload")
    assert refused.status_code == 422 and "not reloaded" in refused.json()["error"]["message"]
    assert answer_model(gw) == "two"

    write_config(config, "one", one.url)
    os.kill(os.getpid(), signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "one" not in gw.runtime.slots and time.monotonic() < deadline:
        time.sleep(0.05)
    assert answer_model(gw) == "one"
    # Both reloads that changed something are in the audit log: the API's and the signal's.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = httpx.get(gw.url + "/api/audit", params={"action": "gateway.reload"}).json()
        if len(rows["items"]) == 2:
            break
        time.sleep(0.05)
    assert [row["details"].get("via") for row in rows["items"]] == ["SIGHUP", None]
