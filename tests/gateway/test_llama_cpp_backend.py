"""The embedded llama_cpp backend without llama.cpp itself: reading a GGUF header, settings,
the models folder, the context length taken from the file, and failing over when the engine or
the file is missing. Generation with the real engine is in tests/conformance (slow)."""

from __future__ import annotations

import asyncio
import struct
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from aiharness.gateway.backends import BackendError, ChatBackend, create_backend
from aiharness.gateway.backends.gguf import GGUFError, read_gguf_info
from aiharness.gateway.backends.llama_cpp import LlamaCppBackend
from aiharness.gateway.settings import BackendSettings, GatewaySettings
from tests.fixtures import gguf
from tests.fixtures.gguf import GEMMA, link_model
from tests.gateway.conftest import Gateway, backend
from tests.gateway.fake_llm import FakeLLM

HELLO = [{"role": "user", "content": "hello"}]
gguf_models = gguf.gguf_models


def _s(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def write_gguf(path: Path, *, arch: str = "llama", context: int | None = 2048) -> Path:
    """A GGUF file with a metadata header (strings, arrays, scalars) and no tensors."""
    kvs = [
        ("general.architecture", 8, _s(arch)),
        ("general.name", 8, _s("tiny test")),
        ("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 3) + _s("a") + _s("b") + _s("<s>")),
        ("tokenizer.ggml.scores", 9, struct.pack("<IQ", 6, 3) + struct.pack("<3f", 0, 1, 2)),
        ("general.file_type", 4, struct.pack("<I", 15)),
    ]
    if context is not None:
        kvs.append((f"{arch}.context_length", 4, struct.pack("<I", context)))
    header = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs))
    body = b"".join(_s(k) + struct.pack("<I", t) + v for k, t, v in kvs)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + body)
    return path


def embedded(**extra: object) -> BackendSettings:
    values: dict[str, object] = {"name": "local", "model": "tiny.gguf", "kind": "llama_cpp"}
    return BackendSettings.model_validate({**values, **extra})


@pytest.mark.unit
def test_the_header_gives_architecture_context_and_name(tmp_path: Path) -> None:
    info = read_gguf_info(write_gguf(tmp_path / "m.gguf", arch="gemma3", context=32768))
    assert (info.architecture, info.context_length, info.name) == ("gemma3", 32768, "tiny test")
    assert info.chat_template is None


@pytest.mark.unit
def test_files_that_are_not_gguf_are_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.gguf").write_bytes(b"PK\x03\x04 a zip file")
    with pytest.raises(GGUFError, match="not a GGUF file"):
        read_gguf_info(tmp_path / "notes.gguf")
    whole = write_gguf(tmp_path / "whole.gguf").read_bytes()
    (tmp_path / "cut.gguf").write_bytes(whole[:60])
    with pytest.raises(GGUFError, match="ends inside its header"):
        read_gguf_info(tmp_path / "cut.gguf")


@pytest.mark.unit
def test_settings_of_the_embedded_kind() -> None:
    assert embedded().base_url == ""
    with pytest.raises(ValidationError, match="chat and code only"):
        embedded(capabilities=["embeddings"])
    with pytest.raises(ValidationError, match="needs base_url"):
        BackendSettings(name="srv", model="m", kind="vllm")
    single = GatewaySettings.model_validate({"kind": "llama_cpp", "model": "tiny.gguf"})
    [only] = single.all_backends()
    assert (only.kind, only.model, only.base_url) == ("llama_cpp", "tiny.gguf", "")
    with pytest.raises(ValidationError, match="no base_url"):
        GatewaySettings.model_validate(
            {"kind": "llama_cpp", "model": "x.gguf", "base_url": "http://h/v1"}
        )


@pytest.mark.unit
def test_a_relative_model_lives_in_the_models_folder_and_caps_the_context(
    tmp_path: Path,
) -> None:
    models = tmp_path / "models"
    write_gguf(models / "tiny.gguf", context=2048)
    made = create_backend(embedded(context_length=8192), models_dir=models)
    assert isinstance(made, LlamaCppBackend) and isinstance(made, ChatBackend)
    assert made.path == models / "tiny.gguf"
    assert made.settings.context_length == 2048  # the model was trained with 2048
    assert made.configured.context_length == 8192
    smaller = create_backend(embedded(context_length=1024), models_dir=models)
    assert smaller.settings.context_length == 1024
    absolute = create_backend(embedded(model=str(models / "tiny.gguf")), models_dir=None)
    assert absolute.settings.context_length == 2048


@pytest.mark.unit
def test_a_missing_engine_is_a_clear_retryable_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_gguf(tmp_path / "tiny.gguf")
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # as if the extra were not installed
    made = create_backend(embedded(), models_dir=tmp_path)
    with pytest.raises(BackendError, match="uv sync --extra local-llm") as caught:
        asyncio.run(made.complete({"model": "tiny.gguf", "messages": HELLO}))
    assert caught.value.retryable
    with pytest.raises(BackendError, match="local-llm"):
        asyncio.run(made.probe())


@pytest.mark.unit
def test_a_missing_file_is_a_clear_retryable_error(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    made = create_backend(embedded(model="absent.gguf"), models_dir=tmp_path)
    with pytest.raises(BackendError, match=r"no GGUF file at .*absent\.gguf") as caught:
        asyncio.run(made.complete({"model": "absent.gguf", "messages": HELLO}))
    assert caught.value.retryable


@pytest.mark.unit
def test_unsupported_requests_are_refused_before_any_work(tmp_path: Path) -> None:
    made = create_backend(embedded(), models_dir=tmp_path)
    for extra in ({"n": 2}, {"tools": [{"type": "function"}]}):
        with pytest.raises(BackendError) as caught:
            asyncio.run(made.complete({"model": "m", "messages": HELLO, **extra}))
        assert caught.value.status_code == 400 and not caught.value.retryable
    with pytest.raises(BackendError, match="not embeddings") as refused:
        asyncio.run(made.embed({"model": "m", "input": ["a"]}))
    assert refused.value.status_code == 400


@pytest.mark.integration
def test_the_gateway_uses_the_data_dirs_models_and_fails_over(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fakes: Callable[..., FakeLLM],
    gateway: Callable[..., Gateway],
) -> None:
    """A GGUF file in data/models sets the alias's context; with the engine missing the
    request moves on to the next backend, and the model reloads without counting as changed."""
    write_gguf(tmp_path / "data" / "models" / "tiny.gguf", context=1024)
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    server = fakes("srv")
    local = {
        "name": "local",
        "kind": "llama_cpp",
        "model": "tiny.gguf",
        "priority": 1,
        "capabilities": ["chat", "code"],
    }
    gw = gateway(
        {
            "backends": [local, backend("srv", server.url, priority=2)],
            "aliases": {"chat": ["local", "srv"], "small": ["local"]},
        }
    )
    assert gw.runtime.slots["local"].settings.context_length == 1024

    too_long = [{"role": "user", "content": "word " * 1500}]
    refused = httpx.post(
        gw.url + "/v1/chat/completions", json={"model": "small", "messages": too_long}, timeout=10
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "context_length_exceeded"

    answered = httpx.post(
        gw.url + "/v1/chat/completions", json={"model": "chat", "messages": HELLO}, timeout=10
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["model"] == "srv"  # the fake server names itself
    [record] = gw.usage(1)
    assert record["route"] == "local>srv" and record["failovers"] == 1

    report = gw.runtime.reload(gw.runtime.section)
    assert "local" in report.kept and not report.changed

    page = httpx.get(gw.url + "/models", params={"lang": "ko"}, timeout=10)
    assert page.status_code == 200 and "프로세스 내 실행 (llama.cpp)" in page.text


@pytest.mark.integration
@pytest.mark.slow
def test_the_openai_client_talks_to_an_embedded_model(
    tmp_path: Path, gguf_models: Path, gateway: Callable[..., Gateway]
) -> None:
    """The official client reads the embedded model's answers and chunks (OpenAI's shapes), and
    the usage record has the engine's token counts."""
    import openai
    from openai.types.chat import ChatCompletionUserMessageParam

    link_model(gguf_models, tmp_path / "data")
    local = {
        "name": "local",
        "kind": "llama_cpp",
        "model": GEMMA,
        "capabilities": ["chat", "code"],
    }
    gw = gateway({"backends": [local]})
    assert gw.runtime.slots["local"].settings.context_length == 8192  # file says 32768
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key="unused", max_retries=0)
    question: list[ChatCompletionUserMessageParam] = [
        {"role": "user", "content": "What does a pressure relief valve do?"}
    ]
    answer = client.chat.completions.create(
        model="chat", messages=question, max_tokens=16, temperature=0
    )
    text = answer.choices[0].message.content
    assert text and answer.model == GEMMA
    assert answer.usage is not None and 0 < answer.usage.completion_tokens <= 16

    stream = client.chat.completions.create(
        model="chat",
        messages=question,
        max_tokens=16,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == text
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens > 0
    records = gw.usage(2)
    assert [r["backend"] for r in records] == ["local", "local"]
    assert all(r["tokens_from_backend"] for r in records)


@pytest.mark.integration
@pytest.mark.slow
def test_a_broken_stream_is_continued_by_the_embedded_model(
    tmp_path: Path,
    gguf_models: Path,
    fakes: Callable[..., FakeLLM],
    gateway: Callable[..., Gateway],
) -> None:
    """A server that breaks mid-answer: the embedded model goes on with the same answer and
    the client sees one stream."""
    import openai

    link_model(gguf_models, tmp_path / "data")
    server = fakes("srv")
    server.break_after = 3
    local = {"name": "local", "kind": "llama_cpp", "model": GEMMA, "priority": 2}
    gw = gateway({"backends": [backend("srv", server.url, priority=1), local]})
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key="unused", max_retries=0)
    stream = client.chat.completions.create(
        model="chat",
        messages=[{"role": "user", "content": "List the pump checks."}],
        max_tokens=12,
        temperature=0,
        stream=True,
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("w0 w1 w2") and len(text) > len("w0 w1 w2")
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")
    assert len({c.id for c in chunks}) == 1  # one answer, one id
    [record] = gw.usage(1)
    assert record["route"] == "srv>>local" and record["status"] == "ok"
