"""The LLM path: generation through the gateway's routing against local OpenAI-compatible test
servers, failover mid-answer, every backend down, citation integrity and refusals by the model."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aiharness.assistant.relevance import not_found_text
from tests.assistant.conftest import ScriptedLLM, backend
from tests.assistant.test_api import EN_QUESTION, KO_QUESTION, assert_citations_intact, sse_events
from tests.gateway.fake_llm import closed_port_url

pytestmark = pytest.mark.integration
LLMFactory = Callable[..., ScriptedLLM]


def passage_numbers(body: dict[str, Any]) -> list[int]:
    """The passage numbers the prompt gave the model."""
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    return [int(n) for n in re.findall(r"^\[(\d+)\] ", user, flags=re.MULTILINE)]


def cites_first_and_invents(body: dict[str, Any]) -> str:
    """An answer citing the first passage in three shapes, plus a passage that does not exist."""
    first = passage_numbers(body)[0]
    return (
        f"The compressor trips at 105 °C [{first}]. It warns at 100 °C 【{first}】, "
        f"see also [{first}, 42] and [99]."
    )


def test_llm_answer_keeps_only_markers_of_passages_it_was_given(
    make_client: Callable[..., TestClient], llms: LLMFactory
) -> None:
    llm = llms("llm-a", cites_first_and_invents)
    client = make_client(gateway={"backends": [backend("a", llm.url)]})
    body = client.post("/api/ask", json={"question": EN_QUESTION}).json()
    meta = body["meta"]
    assert meta["generator"] == "llm" and meta["refused"] is False
    assert meta["backend"] == "a" and meta["model"] == "a-model"
    assert meta["fallback_reason"] is None
    assert meta["ttft_ms"] is not None and meta["completion_tokens"] > 0
    assert "[99]" not in body["answer"] and "42" not in body["answer"]
    assert "【" not in body["answer"]
    assert_citations_intact(body)
    assert len(body["sources"]) == 1
    # The model saw exactly the passages of the trace, in the language's template.
    request = llm.requests[-1]
    assert request["stream"] is True and request["model"] == "a-model"
    trace = client.get(f"/api/answers/{meta['answer_id']}").json()
    assert trace["prompt"] == request["messages"]
    assert passage_numbers(request) == [p["n"] for p in trace["passages"]]
    assert "ONLY the numbered passages" in trace["prompt"][0]["content"]
    assert not_found_text("en") in trace["prompt"][0]["content"]


def test_korean_question_uses_the_korean_template(
    make_client: Callable[..., TestClient], llms: LLMFactory
) -> None:
    llm = llms(
        "llm-ko", lambda body: f"2,000 운전시간마다 보충합니다 [{passage_numbers(body)[0]}]."
    )
    client = make_client(gateway={"backends": [backend("a", llm.url)]})
    body = client.post("/api/ask", json={"question": KO_QUESTION}).json()
    assert body["meta"]["language"] == "ko" and body["meta"]["generator"] == "llm"
    system = llm.requests[-1]["messages"][0]["content"]
    assert "문서 구절만" in system and not_found_text("ko") in system
    assert "질문:" in llm.requests[-1]["messages"][1]["content"]
    assert_citations_intact(body)


def test_model_saying_not_found_is_a_refusal(
    make_client: Callable[..., TestClient], llms: LLMFactory
) -> None:
    llm = llms("llm-nf", "The documents do not mention the alarm threshold.")
    client = make_client(gateway={"backends": [backend("a", llm.url)]})
    body = client.post("/api/ask", json={"question": EN_QUESTION}).json()
    assert body["meta"]["refused"] is True and body["meta"]["generator"] == "llm"
    assert body["answer"] == not_found_text("en")
    assert body["sources"] == [] and body["maybe_related"]


def test_backend_dying_mid_answer_fails_over_into_one_answer(
    make_client: Callable[..., TestClient], llms: LLMFactory
) -> None:
    first = llms("llm-first", cites_first_and_invents)
    first.break_after = 3  # the connection drops after three words
    second = llms("llm-second", cites_first_and_invents)
    client = make_client(
        gateway={
            "backends": [backend("a", first.url, priority=1), backend("b", second.url, priority=2)]
        }
    )
    with client.stream("POST", "/api/ask", json={"question": EN_QUESTION, "stream": True}) as r:
        events = sse_events(r)
    kinds = [name for name, _ in events]
    assert kinds[0] == "sources" and kinds[-1] == "done" and "error" not in kinds
    streamed = "".join(d["text"] for name, d in events if name == "token")
    done = events[-1][1]
    # One uninterrupted answer: the first backend's words, then the second one's rest.
    assert streamed == cites_first_and_invents(second.requests[-1])
    assert done["meta"]["generator"] == "llm" and done["meta"]["fallback_reason"] is None
    assert done["meta"]["backend"] == "b"
    assert second.requests[-1]["messages"][-1]["role"] == "assistant"  # a continuation
    assert_citations_intact(done)
    assert "105 °C" in done["answer"]
    unknown = client.post("/api/ask", json={"question": EN_QUESTION, "model": "gpt-9"})
    assert unknown.status_code == 404 and "gpt-9" in unknown.json()["error"]["message"]
    chosen = client.post("/api/ask", json={"question": EN_QUESTION, "model": "b"}).json()
    assert chosen["meta"]["backend"] == "b"
    # Non-streaming asks fail over too (the first backend refuses, the second answers).
    first.fail_statuses = [500]
    body = client.post("/api/ask", json={"question": EN_QUESTION}).json()
    assert body["meta"]["generator"] == "llm" and body["meta"]["backend"] == "b"


def test_every_backend_down_falls_back_to_the_extractive_answer(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(
        gateway={"backends": [backend("a", closed_port_url()), backend("b", closed_port_url())]}
    )
    body = client.post("/api/ask", json={"question": EN_QUESTION}).json()
    meta = body["meta"]
    assert meta["generator"] == "extractive" and meta["refused"] is False
    assert meta["fallback_reason"].startswith("every LLM backend is down")
    assert "105" in body["answer"]
    assert_citations_intact(body)
    with client.stream("POST", "/api/ask", json={"question": EN_QUESTION, "stream": True}) as r:
        assert r.status_code == 200
        events = sse_events(r)
    assert events[0][0] == "sources" and events[-1][0] == "done"
    assert events[-1][1]["meta"]["fallback_reason"].startswith("every LLM backend is down")
    trace = client.get(f"/api/answers/{meta['answer_id']}").json()
    assert trace["fallback_reason"] == meta["fallback_reason"] and trace["prompt"] is None


def test_small_model_context_shrinks_the_packed_passages(
    make_client: Callable[..., TestClient], llms: LLMFactory
) -> None:
    llm = llms("llm-small", cites_first_and_invents)
    big = make_client(gateway={"backends": [backend("a", llm.url)]})
    small = make_client(gateway={"backends": [backend("a", llm.url, context_length=1024)]})
    wide = big.post("/api/ask", json={"question": EN_QUESTION, "k": 8}).json()
    narrow = small.post("/api/ask", json={"question": EN_QUESTION, "k": 8}).json()
    given_wide = big.get(f"/api/answers/{wide['meta']['answer_id']}").json()["passages"]
    given_narrow = small.get(f"/api/answers/{narrow['meta']['answer_id']}").json()["passages"]
    assert 1 <= len(given_narrow) < len(given_wide)
    # The prompt fits the window with the answer's tokens to spare (3 characters a token).
    prompt = llm.requests[-1]["messages"]
    assert sum(len(m["content"]) for m in prompt) / 3 < 1024 - 512 + 100


def test_an_answer_broken_beyond_repair_ends_as_the_extractive_answer(
    make_client: Callable[..., TestClient], llms: LLMFactory
) -> None:
    first = llms("dies-early", cites_first_and_invents)
    first.break_after = 2
    second = llms("dies-too", cites_first_and_invents)
    second.break_after = 0  # the continuation breaks as well
    client = make_client(
        gateway={
            "backends": [backend("a", first.url, priority=1), backend("b", second.url, priority=2)]
        }
    )
    with client.stream("POST", "/api/ask", json={"question": EN_QUESTION, "stream": True}) as r:
        assert r.status_code == 200
        events = sse_events(r)
    assert events[0][0] == "sources" and events[-1][0] == "done"
    done = events[-1][1]
    assert done["meta"]["generator"] == "extractive"
    assert done["meta"]["fallback_reason"].startswith("the LLM answer failed")
    assert "105" in done["answer"]
    assert_citations_intact(done)


def test_the_callers_allow_lists_bound_collections_and_models(
    make_client: Callable[..., TestClient], llms: LLMFactory
) -> None:
    import asyncio

    from aiharness.assistant.public import AssistantRuntime, ask
    from aiharness.errors import NotFound

    llm = llms("allowed", cites_first_and_invents)
    client = make_client(gateway={"backends": [backend("a", llm.url)]})
    platform = client.app.state.platform  # type: ignore[attr-defined]
    runtime = platform.get(AssistantRuntime)

    def asking(**kwargs: Any) -> Any:
        async def run() -> Any:
            with platform.unit_of_work() as session:
                return await ask(runtime, session=session, question=EN_QUESTION, **kwargs)

        return asyncio.run(run())

    allowed = asking(allowed_collections=frozenset({"demo"}), allowed_models=frozenset({"chat"}))
    assert allowed.meta.generator == "llm" and allowed.sources
    # Collections outside the list are not searched, and naming one is "not found".
    elsewhere = asking(allowed_collections=frozenset({"hr-only"}))
    assert elsewhere.meta.refused and elsewhere.sources == [] and elsewhere.maybe_related == []
    with pytest.raises(NotFound):
        asking(collections=["demo"], allowed_collections=frozenset({"hr-only"}))
    # A caller who may use no model gets the extractive answer, and cannot name one.
    no_models = asking(allowed_models=frozenset())
    assert no_models.meta.generator == "extractive"
    assert no_models.meta.fallback_reason == "the caller may not use the model 'chat'"
    with pytest.raises(NotFound):
        asking(model="a", allowed_models=frozenset({"chat"}))
    assert len(llm.requests) == 1  # only the allowed ask reached the model
