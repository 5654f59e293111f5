"""Gateway fixtures: fake LLM servers on loopback and a real gateway served by uvicorn."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from aiharness.app import create_app
from aiharness.features import make_settings
from aiharness.gateway.runtime import GatewayRuntime
from aiharness.platform import Platform
from tests.fixtures.servers import free_port
from tests.gateway.fake_llm import FakeLLM


@pytest.fixture
def fakes() -> Iterator[Callable[..., FakeLLM]]:
    made: list[FakeLLM] = []

    def make(name: str = "fake", **kwargs: Any) -> FakeLLM:
        server = FakeLLM(name, **kwargs)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()


def backend(name: str, url: str, **extra: Any) -> dict[str, Any]:
    """A backend entry of the gateway section, with short time-outs for tests."""
    return {
        "name": name,
        "base_url": url,
        "model": f"{name}-model",
        "capabilities": ["chat", "code"],
        "connect_timeout_s": 1.0,
        "first_token_timeout_s": 2.0,
        "total_timeout_s": 10.0,
        **extra,
    }


@dataclass
class Gateway:
    url: str
    platform: Platform

    @property
    def runtime(self) -> GatewayRuntime:
        return self.platform.get(GatewayRuntime)

    def usage(self, at_least: int = 1) -> list[dict[str, Any]]:
        """Usage records, oldest first, once ``at_least`` are written (a stream's record is
        queued when its generator ends, a moment after the client saw ``[DONE]``)."""
        deadline = time.monotonic() + 10
        while True:
            self.runtime.usage.flush()
            rows = httpx.get(f"{self.url}/api/gateway/usage?limit=1000", timeout=10).json()
            if len(rows) >= at_least or time.monotonic() > deadline:
                return list(reversed(rows))
            time.sleep(0.05)


def serve(app: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the gateway did not start")
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Callable[..., Gateway]]:
    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(section: dict[str, Any]) -> Gateway:
        settings = make_settings(
            data_dir=tmp_path / "data",
            log_format="json",
            jobs={"worker_enabled": False},
            knowledge={"demo_ingest": "off"},
            gateway={"health_interval_s": 3600, **section},
        )
        app = create_app(settings)
        server, thread, url = serve(app)
        running.append((server, thread))
        return Gateway(url, app.state.platform)

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(timeout=30)
