"""One conformance class for the LLM backend interface (``gateway.backends.ChatBackend``), run
against every backend kind. Each kind is the OpenAI-compatible client configured for a server
family (llama.cpp, vLLM, Ollama, OpenAI), talking to a local fake server with injected faults.
The embedded llama-cpp-python backend joins this suite when it lands."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from aiharness.gateway.backends import BackendError, ChatBackend, create_backend
from aiharness.gateway.settings import BackendSettings
from tests.gateway.fake_llm import FakeLLM, closed_port_url

pytestmark = pytest.mark.integration
HELLO = [{"role": "user", "content": "안녕하세요"}]


class LLMBackendConformance:
    """What every backend must do; subclasses provide ``kind``."""

    kind = "openai"

    @pytest.fixture
    def server(self) -> Iterator[FakeLLM]:
        server = FakeLLM("served")
        yield server
        server.close()

    def make(self, url: str, **extra: Any) -> ChatBackend:
        return create_backend(
            BackendSettings(
                name="b",
                base_url=url,
                model="served",
                kind=self.kind,
                first_token_timeout_s=2,
                connect_timeout_s=1,
                **extra,
            )
        )

    def run(self, backend: ChatBackend, coro: Any) -> Any:
        async def main() -> Any:
            try:
                return await coro
            finally:
                await backend.aclose()

        # A thread of its own: a session's browser fixture (Playwright) keeps a loop running
        # in the main thread, where asyncio.run would refuse to start.
        found: list[Any] = []
        failed: list[BaseException] = []

        def target() -> None:
            try:
                found.append(asyncio.run(main()))
            except BaseException as exc:
                failed.append(exc)

        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
        if failed:
            raise failed[0]
        return found[0]

    def test_it_satisfies_the_protocol(self, server: FakeLLM) -> None:
        assert isinstance(self.make(server.url), ChatBackend)

    def test_complete_returns_the_servers_answer(self, server: FakeLLM) -> None:
        backend = self.make(server.url)
        answer = self.run(backend, backend.complete({"model": "served", "messages": HELLO}))
        assert answer["choices"][0]["message"]["content"] == "w0 w1 w2 w3 w4 w5"
        assert server.requests[-1]["messages"] == HELLO

    def test_a_stream_yields_each_event_payload_unchanged(self, server: FakeLLM) -> None:
        backend = self.make(server.url)

        async def read() -> list[str]:
            stream = await backend.open_stream(
                {"model": "served", "messages": HELLO, "stream": True}
            )
            try:
                return [p async for p in stream.payloads()]
            finally:
                await stream.aclose()

        payloads = self.run(backend, read())
        assert payloads[-1] == "[DONE]"
        chunks = [json.loads(p) for p in payloads[:-1]]
        assert chunks[0]["choices"][0]["delta"] == {"role": "assistant"}
        assert chunks[-1]["choices"][0]["finish_reason"] == "stop"

    @pytest.mark.parametrize(
        ("status", "retryable"), [(500, True), (503, True), (429, True), (400, False), (401, False)]
    )
    def test_error_statuses_say_whether_to_fail_over(
        self, server: FakeLLM, status: int, retryable: bool
    ) -> None:
        backend = self.make(server.url)
        server.fail_statuses = [status, status]
        with pytest.raises(BackendError) as caught:
            self.run(backend, backend.complete({"model": "served", "messages": HELLO}))
        assert caught.value.status_code == status and caught.value.retryable is retryable
        assert f"injected {status}" in str(caught.value)
        body = {"model": "served", "messages": HELLO, "stream": True}
        with pytest.raises(BackendError) as streamed:
            self.run(backend, backend.open_stream(body))
        assert streamed.value.status_code == status

    def test_an_unreachable_server_is_a_retryable_error(self) -> None:
        backend = self.make(closed_port_url())
        with pytest.raises(BackendError, match="unreachable") as caught:
            self.run(backend, backend.complete({"model": "served", "messages": HELLO}))
        assert caught.value.retryable and caught.value.status_code is None

    def test_probe_lists_the_served_models(self, server: FakeLLM) -> None:
        backend = self.make(server.url)
        assert self.run(backend, backend.probe()) == ["served"]

    def test_embed_returns_vectors(self, server: FakeLLM) -> None:
        backend = self.make(server.url)
        answer = self.run(backend, backend.embed({"model": "served", "input": ["a", "b"]}))
        assert [row["index"] for row in answer["data"]] == [0, 1]

    def test_concurrency_is_bounded(self, server: FakeLLM) -> None:
        backend = self.make(server.url, max_concurrency=2)
        server.token_delay_s = 0.02
        peak = 0

        def watch(stop: threading.Event) -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, server.in_flight)
                time.sleep(0.002)

        async def one() -> int:
            stream = await backend.open_stream(
                {"model": "served", "messages": HELLO, "stream": True}
            )
            try:
                return len([p async for p in stream.payloads()])
            finally:
                await stream.aclose()

        async def many() -> list[int]:
            return list(await asyncio.gather(*(one() for _ in range(6))))

        stop = threading.Event()
        watcher = threading.Thread(target=watch, args=(stop,))
        watcher.start()
        try:
            counts = self.run(backend, many())
        finally:
            stop.set()
            watcher.join()
        assert counts == [9] * 6  # role, 6 tokens, finish, [DONE]
        assert 1 <= peak <= 2

    def test_close_from_another_thread_releases_connections(self, server: FakeLLM) -> None:
        backend = self.make(server.url)
        self.run(backend, backend.probe())
        backend.close()  # the loop has ended: nothing to await, nothing raised
        assert self.run(backend, backend.probe()) == ["served"]  # reopens on demand


class TestLlamaCppServer(LLMBackendConformance):
    kind = "llamacpp"


class TestVLLM(LLMBackendConformance):
    kind = "vllm"


class TestOllama(LLMBackendConformance):
    kind = "ollama"


class TestOpenAI(LLMBackendConformance):
    kind = "openai"
