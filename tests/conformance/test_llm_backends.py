"""One conformance suite for the LLM backend interface (``gateway.backends.ChatBackend``), run
against every backend kind. ``ChatBackendContract`` is what any backend must do (OpenAI-shaped
answers and chunks, probing, bounded concurrency, closing from another thread);
``LLMBackendConformance`` adds what a server client must do, for the OpenAI-compatible client
configured for each server family (llama.cpp, vLLM, Ollama, OpenAI) talking to a local fake
server with injected faults. The embedded llama_cpp kind runs the contract against a real
llama.cpp engine on a small GGUF model (slow; skipped without the ``local-llm`` extra)."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aiharness.gateway.backends import BackendError, ChatBackend, create_backend
from aiharness.gateway.settings import BackendSettings
from tests.fixtures import gguf
from tests.gateway.fake_llm import FakeLLM, closed_port_url

pytestmark = pytest.mark.integration
HELLO = [{"role": "user", "content": "안녕하세요"}]
Maker = Callable[..., ChatBackend]
gguf_models = gguf.gguf_models


def run(backend: ChatBackend, coro: Any) -> Any:
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


async def read_stream(backend: ChatBackend, body: dict[str, Any]) -> list[str]:
    stream = await backend.open_stream({**body, "stream": True})
    try:
        return [p async for p in stream.payloads()]
    finally:
        await stream.aclose()


class ChatBackendContract:
    """What every backend must do; subclasses provide the ``make`` fixture and ``served``."""

    served = "served"
    extra_body: dict[str, Any] = {}  # noqa: RUF012 - read only

    def body(self, **more: Any) -> dict[str, Any]:
        return {"model": self.served, "messages": HELLO, **self.extra_body, **more}

    def run(self, backend: ChatBackend, coro: Any) -> Any:
        return run(backend, coro)

    def test_it_satisfies_the_protocol(self, make: Maker) -> None:
        assert isinstance(make(), ChatBackend)

    def test_complete_is_an_openai_answer(self, make: Maker) -> None:
        backend = make()
        answer = self.run(backend, backend.complete(self.body()))
        assert answer["object"] == "chat.completion"
        [choice] = answer["choices"]
        assert choice["message"]["role"] == "assistant"
        assert isinstance(choice["message"]["content"], str) and choice["message"]["content"]
        assert choice["finish_reason"] in ("stop", "length")

    def test_a_stream_is_openai_chunks_ending_with_done(self, make: Maker) -> None:
        backend = make()
        payloads = self.run(backend, read_stream(backend, self.body()))
        assert payloads[-1] == "[DONE]"
        chunks = [json.loads(p) for p in payloads[:-1]]
        assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
        assert len({c["id"] for c in chunks}) == 1
        assert chunks[0]["choices"][0]["delta"] == {"role": "assistant"}
        assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
        assert chunks[-1]["choices"][0]["finish_reason"] in ("stop", "length")

    def test_usage_is_sent_when_asked(self, make: Maker) -> None:
        backend = make()
        body = self.body(stream_options={"include_usage": True})
        payloads = self.run(backend, read_stream(backend, body))
        last = json.loads(payloads[-2])
        assert last["choices"] == [] and last["usage"]["prompt_tokens"] > 0
        plain = self.run(backend, read_stream(backend, self.body()))
        assert not any("usage" in json.loads(p) for p in plain[:-1])

    def test_probe_lists_the_served_model(self, make: Maker) -> None:
        backend = make()
        assert self.served in self.run(backend, backend.probe())

    def test_close_from_another_thread_releases_it(self, make: Maker) -> None:
        backend = make()
        self.run(backend, backend.probe())
        backend.close()  # the loop has ended: nothing to await, nothing raised
        assert self.served in self.run(backend, backend.probe())  # reopens on demand


class LLMBackendConformance(ChatBackendContract):
    """What every server client must do as well; subclasses provide ``kind``."""

    kind = "openai"

    @pytest.fixture
    def server(self) -> Iterator[FakeLLM]:
        server = FakeLLM("served")
        yield server
        server.close()

    @pytest.fixture
    def make(self, server: FakeLLM) -> Maker:
        return lambda **extra: self.make_at(server.url, **extra)

    def make_at(self, url: str, **extra: Any) -> ChatBackend:
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

    def test_complete_returns_the_servers_answer(self, server: FakeLLM) -> None:
        backend = self.make_at(server.url)
        answer = self.run(backend, backend.complete({"model": "served", "messages": HELLO}))
        assert answer["choices"][0]["message"]["content"] == "w0 w1 w2 w3 w4 w5"
        assert server.requests[-1]["messages"] == HELLO

    def test_a_stream_yields_each_event_payload_unchanged(self, server: FakeLLM) -> None:
        backend = self.make_at(server.url)

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
        backend = self.make_at(server.url)
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
        backend = self.make_at(closed_port_url())
        with pytest.raises(BackendError, match="unreachable") as caught:
            self.run(backend, backend.complete({"model": "served", "messages": HELLO}))
        assert caught.value.retryable and caught.value.status_code is None

    def test_probe_lists_the_served_models(self, server: FakeLLM) -> None:
        backend = self.make_at(server.url)
        assert self.run(backend, backend.probe()) == ["served"]

    def test_embed_returns_vectors(self, server: FakeLLM) -> None:
        backend = self.make_at(server.url)
        answer = self.run(backend, backend.embed({"model": "served", "input": ["a", "b"]}))
        assert [row["index"] for row in answer["data"]] == [0, 1]

    def test_concurrency_is_bounded(self, server: FakeLLM) -> None:
        backend = self.make_at(server.url, max_concurrency=2)
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


class TestLlamaCppServer(LLMBackendConformance):
    kind = "llamacpp"


class TestVLLM(LLMBackendConformance):
    kind = "vllm"


class TestOllama(LLMBackendConformance):
    kind = "ollama"


class TestOpenAI(LLMBackendConformance):
    kind = "openai"


# -- the embedded engine -------------------------------------------------------------------


def embedded_settings(**extra: Any) -> BackendSettings:
    values: dict[str, Any] = {
        "name": "local",
        "model": gguf.GEMMA,
        "kind": "llama_cpp",
        "context_length": 2048,
    }
    return BackendSettings.model_validate({**values, **extra})


@pytest.fixture(scope="module")
def embedded_backend(gguf_models: Path) -> Iterator[ChatBackend]:
    backend = create_backend(embedded_settings(), models_dir=gguf_models)
    yield backend
    backend.close()


@pytest.mark.slow
class TestEmbeddedLlamaCpp(ChatBackendContract):
    """The contract on a real llama.cpp engine, plus what only an embedded model does."""

    served = gguf.GEMMA
    extra_body = {"max_tokens": 12, "temperature": 0}  # noqa: RUF012 - read only

    @pytest.fixture
    def make(self, embedded_backend: ChatBackend, gguf_models: Path) -> Maker:
        """The module's loaded model; other settings get a backend of their own."""

        def make(**extra: Any) -> ChatBackend:
            if not extra:
                return embedded_backend
            return create_backend(embedded_settings(**extra), models_dir=gguf_models)

        return make

    def test_the_stream_says_what_complete_says(self, make: Maker) -> None:
        backend = make()
        answer = self.run(backend, backend.complete(self.body()))
        payloads = self.run(backend, read_stream(backend, self.body()))
        streamed = "".join(
            json.loads(p)["choices"][0]["delta"].get("content") or "" for p in payloads[:-1]
        )
        assert streamed == answer["choices"][0]["message"]["content"]  # greedy: the same text
        assert answer["model"] == self.served
        assert 0 < answer["usage"]["completion_tokens"] <= 12

    def test_the_context_comes_from_the_model(self, make: Maker) -> None:
        assert make(context_length=1_000_000).settings.context_length == 32768  # trained
        small = make(context_length=256)
        long_prompt = [{"role": "user", "content": "pump valve sensor " * 200}]
        with pytest.raises(BackendError, match="context") as caught:
            self.run(small, small.complete({**self.body(), "messages": long_prompt}))
        assert caught.value.status_code == 400 and not caught.value.retryable

    def test_one_request_at_a_time(self, make: Maker) -> None:
        backend = make()
        spans: list[tuple[float, float]] = []

        async def one() -> None:
            stream = await backend.open_stream(self.body(stream=True))
            started = time.monotonic()
            try:
                async for _ in stream.payloads():
                    pass
            finally:
                await stream.aclose()
            spans.append((started, time.monotonic()))

        async def many() -> None:
            await asyncio.gather(*(one() for _ in range(3)))

        self.run(backend, many())
        spans.sort()
        assert len(spans) == 3
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))

    def test_a_reader_that_leaves_frees_the_model(self, make: Maker) -> None:
        backend = make()

        async def leave_early() -> float:
            stream = await backend.open_stream(self.body(stream=True, max_tokens=400))
            payloads = stream.payloads()
            await anext(payloads)
            started = time.monotonic()
            await stream.aclose()  # returns once the generation has stopped
            return time.monotonic() - started

        assert self.run(backend, leave_early()) < 5
        answer = self.run(backend, backend.complete(self.body()))
        assert answer["choices"][0]["message"]["content"]

    def test_a_partial_answer_is_continued_not_restarted(self, make: Maker) -> None:
        """The gateway's mid-stream failover sends the partial answer as the last (assistant)
        message: greedy decoding must go on exactly where the first answer was cut."""
        backend = make()
        body = self.body(max_tokens=16)
        payloads = self.run(backend, read_stream(backend, body))
        pieces = [json.loads(p)["choices"][0]["delta"].get("content") for p in payloads[:-1]]
        tokens = [p for p in pieces if p]
        partial, rest = "".join(tokens[:6]), "".join(tokens[6:])
        messages = [*HELLO, {"role": "assistant", "content": partial}]
        again = self.body(messages=messages, max_tokens=len(tokens) - 6)
        continued = self.run(backend, read_stream(backend, again))
        text = "".join(
            json.loads(p)["choices"][0]["delta"].get("content") or "" for p in continued[:-1]
        )
        assert text == rest
        whole = self.run(backend, backend.complete(again))
        assert whole["choices"][0]["message"]["content"] == rest

    def test_embeddings_are_refused(self, make: Maker) -> None:
        backend = make()
        with pytest.raises(BackendError, match="not embeddings") as caught:
            self.run(backend, backend.embed({"model": self.served, "input": ["a"]}))
        assert caught.value.status_code == 400
