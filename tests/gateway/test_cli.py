"""``aiharness models`` and ``aiharness chat`` as a user runs them: real subprocesses, through a
running gateway (``--url``) and in process, with clean one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.gateway.conftest import Gateway, backend
from tests.gateway.fake_llm import FakeLLM

pytestmark = pytest.mark.integration


def run_cli(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aiharness", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        timeout=120,
        check=False,
    )


def test_models_and_chat_through_a_running_gateway(
    fakes: Callable[..., FakeLLM], gateway: Callable[..., Gateway]
) -> None:
    chat_server, code_server = fakes("chat-server"), fakes("code-server")
    gw = gateway(
        {
            "backends": [
                backend("small", chat_server.url, capabilities=["chat"]),
                backend("coder", code_server.url, capabilities=["code"]),
            ]
        }
    )
    listed = run_cli("models", "list", "--url", gw.url)
    assert listed.returncode == 0, listed.stderr
    assert "small" in listed.stdout and "coder" in listed.stdout and "auto" in listed.stdout

    tested = run_cli("models", "test", "coder", "--url", gw.url)
    assert tested.returncode == 0 and "ok" in tested.stdout and "code-server" in tested.stdout

    one_shot = run_cli("chat", "펌프 점검 순서를 알려줘", "--tokens", "3", "--url", gw.url)
    assert one_shot.returncode == 0, one_shot.stderr
    assert one_shot.stdout.strip() == "w0 w1 w2"

    piped = run_cli("chat", "--url", gw.url, stdin="Traceback (most recent call last):\n")
    assert piped.returncode == 0 and piped.stdout.strip() == "w0 w1 w2 w3 w4 w5"
    assert code_server.requests[-1]["messages"][-1]["content"].startswith("Traceback")

    reloaded = run_cli("models", "reload", "--url", gw.url)
    assert reloaded.returncode == 0 and "kept" in reloaded.stdout


def test_cli_errors_are_one_clean_line(
    fakes: Callable[..., FakeLLM], gateway: Callable[..., Gateway]
) -> None:
    gw = gateway({"backends": [backend("small", fakes("s").url)]})
    for args, fragment in [
        (("models", "test", "nope", "--url", gw.url), "no backend named 'nope'"),
        (("chat", "hi", "--model", "gpt-17", "--url", gw.url), "does not exist"),
        (("chat", "hi", "--code", "--chat", "--url", gw.url), "only one of"),
    ]:
        result = run_cli(*args)
        assert result.returncode != 0
        assert "Traceback" not in result.stderr + result.stdout
        assert fragment in result.stderr


def test_chat_in_process_with_a_backend_from_environment_variables(
    tmp_path: Path, fakes: Callable[..., FakeLLM]
) -> None:
    server = fakes("env-server")
    data = tmp_path / "data"
    data.mkdir()
    env = {
        "AIHARNESS_DATA_DIR": str(data),
        "AIHARNESS_GATEWAY__BASE_URL": server.url,
        "AIHARNESS_GATEWAY__MODEL": "served-model",
    }
    result = run_cli("chat", "--chat", stdin="hello there", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "w0 w1 w2 w3 w4 w5"
    assert server.requests[-1]["model"] == "served-model"
    listed = run_cli("models", "list", env=env)
    assert listed.returncode == 0 and "default" in listed.stdout and " up" in listed.stdout
