"""The official ``openai`` client (a real client nobody here wrote) against the gateway."""

from __future__ import annotations

from collections.abc import Callable

import openai
import pytest

from tests.gateway.conftest import Gateway, backend
from tests.gateway.fake_llm import FakeLLM

pytestmark = pytest.mark.integration


@pytest.fixture
def served(fakes: Callable[..., FakeLLM], gateway: Callable[..., Gateway]) -> Gateway:
    chat = fakes("chat-server")
    code = fakes("code-server")
    return gateway(
        {
            "backends": [
                backend("small", chat.url, capabilities=["chat"]),
                backend("coder", code.url, capabilities=["code"]),
            ]
        }
    )


def client_for(gw: Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.url + "/v1", api_key="unused", max_retries=0)


def test_models_lists_aliases_auto_and_embeddings(served: Gateway) -> None:
    ids = {m.id for m in client_for(served).models.list()}
    assert {"auto", "chat", "code", "small", "coder", "embeddings"} <= ids


def test_chat_non_streaming(served: Gateway) -> None:
    answer = client_for(served).chat.completions.create(
        model="chat", messages=[{"role": "user", "content": "안녕하세요, 펌프 점검 순서는?"}]
    )
    assert answer.choices[0].message.content == "w0 w1 w2 w3 w4 w5"
    assert answer.model == "chat-server"
    assert answer.usage is not None and answer.usage.completion_tokens == 6


def test_chat_streaming_ends_with_done_and_unknown_params_pass_through(
    served: Gateway, fakes: Callable[..., FakeLLM]
) -> None:
    stream = client_for(served).chat.completions.create(
        model="chat",
        messages=[{"role": "user", "content": "hello"}],
        stream=True,
        extra_body={"top_k": 7, "repeat_penalty": 1.1},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "w0 w1 w2 w3 w4 w5"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert len({c.id for c in chunks}) == 1
    rows = served.usage()
    assert rows[-1]["stream"] is True and rows[-1]["status"] == "ok"
    assert rows[-1]["ttft_ms"] is not None


def test_auto_sends_code_questions_to_the_code_alias(served: Gateway) -> None:
    client = client_for(served)
    code = client.chat.completions.create(
        model="auto",
        messages=[
            {"role": "user", "content": "이 파이썬 함수에서 오류가 나요:\n```\nx = [1,2\n```"}
        ],
    )
    chat = client.chat.completions.create(
        model="auto", messages=[{"role": "user", "content": "오늘 설비 점검 일정을 요약해 줘"}]
    )
    assert code.model == "code-server"
    assert chat.model == "chat-server"
    aliases = [r["alias"] for r in served.usage(at_least=2)]
    assert aliases[-2:] == ["code", "chat"]


def test_embeddings_from_the_knowledge_embedder(served: Gateway) -> None:
    result = client_for(served).embeddings.create(
        model="embeddings", input=["펌프 진동 점검", "pump vibration check"]
    )
    assert len(result.data) == 2
    vectors = [d.embedding for d in result.data]
    assert len(vectors[0]) == 384  # multilingual-e5-small
    norm = sum(x * x for x in vectors[0]) ** 0.5
    assert abs(norm - 1.0) < 1e-3


def test_embeddings_from_an_embeddings_backend(
    fakes: Callable[..., FakeLLM], gateway: Callable[..., Gateway]
) -> None:
    server = fakes("tei")
    gw = gateway({"backends": [backend("tei", server.url, capabilities=["embeddings"])]})
    result = client_for(gw).embeddings.create(model="embeddings", input="hello")
    assert len(result.data) == 1 and len(result.data[0].embedding) == 8
    assert server.requests[-1]["model"] == "tei-model"
