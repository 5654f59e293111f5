"""The ask API end to end on a real SQLite platform with the sample documents ingested, no LLM
configured (the embedded default): extractive answers, refusals, traces, feedback, aliases,
streaming and bad input."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aiharness.assistant.relevance import not_found_text

pytestmark = pytest.mark.integration

EN_QUESTION = "At what temperature does alarm A-11 trip the AC-2 compressor?"
KO_QUESTION = "P-101 펌프 베어링 그리스 보충 주기는 얼마인가요?"
UNANSWERABLE_EN = "What is on the cafeteria lunch menu on Fridays?"


def markers(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d+)\]", text)}


def assert_citations_intact(body: dict[str, Any]) -> None:
    """Every marker has a source, every source is cited, and none is outside what the
    generator was given (the trace's passages)."""
    cited = markers(body["answer"])
    assert cited == {s["n"] for s in body["sources"]}, body


def sse_events(response: Any) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    name = "message"
    for line in response.iter_lines():
        if line.startswith("event:"):
            name = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            events.append((name, json.loads(line.removeprefix("data:").strip())))
    return events


def test_extractive_answer_cites_the_passage_that_holds_the_fact(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()
    response = client.post("/api/ask", json={"question": EN_QUESTION})
    assert response.status_code == 200, response.text
    body = response.json()
    meta = body["meta"]
    assert meta["generator"] == "extractive"
    assert meta["refused"] is False
    assert meta["language"] == "en"
    assert meta["fallback_reason"] == "no LLM backend is configured"
    assert meta["retrieval_mode"] == "hybrid"
    assert meta["model"] is None and meta["prompt_tokens"] is None
    assert "105" in body["answer"]
    assert_citations_intact(body)
    assert body["maybe_related"] == []
    assert any(s["file_name"] == "air-compressor-troubleshooting.md" for s in body["sources"])
    # The trace: what was retrieved, given and cited, with timings.
    trace = client.get(f"/api/answers/{meta['answer_id']}").json()
    assert trace["question"] == EN_QUESTION == trace["search_query"]
    assert trace["prompt"] is None
    assert trace["answer"] == body["answer"]
    given = {p["n"]: p["chunk_id"] for p in trace["passages"]}
    assert {s["n"] for s in trace["sources"]} <= set(given)
    assert {r["chunk_id"] for r in trace["retrieved"] if r["n"] is not None} == set(given.values())
    assert trace["timings"]["total_ms"] >= trace["timings"]["retrieval_ms"] > 0
    listed = client.get("/api/answers").json()
    assert listed["total"] == 1 and listed["items"][0]["answer_id"] == meta["answer_id"]


def test_korean_question_gets_a_korean_answer(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    body = client.post("/api/ask", json={"question": KO_QUESTION, "collections": ["demo"]}).json()
    assert body["meta"]["language"] == "ko"
    assert body["meta"]["refused"] is False, body
    assert "2,000" in body["answer"]
    assert_citations_intact(body)
    assert body["sources"][0]["file_name"] == "pump-p101-maintenance-manual.md"


def test_unanswerable_question_is_refused_with_maybe_related(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()
    body = client.post("/api/ask", json={"question": UNANSWERABLE_EN}).json()
    assert body["meta"]["refused"] is True
    assert body["answer"] == not_found_text("en")
    assert body["sources"] == []
    assert 1 <= len(body["maybe_related"]) <= 3
    ko = client.post("/api/ask", json={"question": "회사 야유회는 언제 열리나요?"}).json()
    assert ko["meta"]["refused"] is True
    assert ko["answer"] == not_found_text("ko")


def test_feedback_and_the_predecessors_paths(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    legacy = client.post("/ask", json={"question": EN_QUESTION, "k": 3})
    assert legacy.status_code == 200
    answer_id = legacy.json()["meta"]["answer_id"]
    assert set(legacy.json()) == {"answer", "sources", "maybe_related", "meta"}
    rated = client.post(
        f"/api/ask/{answer_id}/feedback",
        json={"rating": "down", "comment": "너무 짧다", "corrected_answer": "105 °C [1]."},
    )
    assert rated.status_code == 201
    assert rated.json()["answer_id"] == answer_id and rated.json()["rating"] == "down"
    alias = client.post("/ask/feedback", json={"answer_id": answer_id, "rating": "up"})
    assert alias.status_code == 201
    page = client.get("/api/feedback").json()
    assert page["total"] == 2
    assert {i["rating"] for i in page["items"]} == {"up", "down"}
    assert all(i["question"] == EN_QUESTION for i in page["items"])
    assert client.get("/api/feedback", params={"rating": "up"}).json()["total"] == 1
    later = client.get("/api/feedback", params={"since": "2999-01-01"}).json()
    assert later == {"items": [], "total": 0}
    trace = client.get(f"/api/answers/{answer_id}").json()
    assert [f["rating"] for f in trace["feedback"]] == ["down", "up"]
    summary = client.get("/api/answers").json()["items"][0]
    assert summary["ratings"] == {"up": 1, "down": 1}
    # Neither alias is in the documented API.
    paths = client.get("/openapi.json").json()["paths"]
    assert "/ask" not in paths and "/ask/feedback" not in paths and "/api/ask" in paths


def test_streaming_sends_sources_then_tokens_then_done(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()
    with client.stream("POST", "/api/ask", json={"question": EN_QUESTION, "stream": True}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r)
    kinds = [name for name, _ in events]
    assert kinds[0] == "sources" and kinds[-1] == "done"
    assert set(kinds[1:-1]) == {"token"} and len(kinds) > 3
    sources, done = events[0][1], events[-1][1]
    assert sources["answer_id"] == done["meta"]["answer_id"]
    given = {s["n"] for s in sources["sources"]}
    assert {s["n"] for s in done["sources"]} <= given
    assert "".join(d["text"] for name, d in events if name == "token") == done["answer"]
    assert_citations_intact(done)
    # Written on its own unit of work once the stream ended.
    assert client.get(f"/api/answers/{done['meta']['answer_id']}").status_code == 200


def test_bad_input_is_a_clear_4xx_and_stores_nothing(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()
    bad: list[dict[str, Any]] = [
        {"question": ""},
        {"question": "   \n "},
        {"question": "x" * 100_000},
        {"question": "y" * 8001},
        {"question": "a\x00b"},
        {"question": "pump", "k": 0},
        {"question": "pump", "k": 21},
        {},
        {"question": 12},
    ]
    for body in bad:
        response = client.post("/api/ask", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["code"] == "validation_error"
    assert client.post("/ask", json={"question": ""}).status_code == 422
    missing = client.post("/api/ask", json={"question": "pump", "collections": ["nope"]})
    assert missing.status_code == 404
    assert "nope" in missing.json()["error"]["message"]
    no_session = client.post("/api/ask", json={"question": "pump", "session_id": "f" * 32})
    assert no_session.status_code == 404
    # With no LLM at all a model name changes nothing (extractive); with backends, an unknown
    # model is a 404 (tests/assistant/test_llm.py).
    any_model = client.post("/api/ask", json={"question": EN_QUESTION, "model": "gpt-9"})
    assert any_model.status_code == 200
    assert any_model.json()["meta"]["fallback_reason"] == "no LLM backend is configured"
    stream_404 = client.post(
        "/api/ask", json={"question": "pump", "collections": ["nope"], "stream": True}
    )
    assert stream_404.status_code == 404
    assert client.get("/api/answers").json()["total"] == 1  # the model-name answer only
    # Feedback on nothing, or of the wrong shape.
    assert client.post("/api/ask/abc/feedback", json={"rating": "up"}).status_code == 404
    assert (
        client.post("/ask/feedback", json={"answer_id": "abc", "rating": "up"}).status_code == 404
    )
    answer_id = client.post("/api/ask", json={"question": EN_QUESTION}).json()["meta"]["answer_id"]
    for body in (
        {"rating": "meh"},
        {},
        {"rating": "up", "comment": "c" * 4001},
        {"rating": "up", "corrected_answer": "c" * 20001},
    ):
        response = client.post(f"/api/ask/{answer_id}/feedback", json=body)
        assert response.status_code == 422, body
    assert client.get("/api/feedback").json()["total"] == 0
    assert client.get("/api/answers/nope").status_code == 404
    assert client.get("/api/feedback", params={"rating": "sideways"}).status_code == 422
    assert client.get("/api/feedback", params={"since": "yesterday"}).status_code == 422


def test_a_failure_after_the_stream_started_is_an_error_event(
    make_client: Callable[..., TestClient],
) -> None:
    import asyncio

    from aiharness.assistant import service
    from aiharness.assistant.runtime import AssistantRuntime

    client = make_client()
    platform = client.app.state.platform  # type: ignore[attr-defined]
    runtime = platform.get(AssistantRuntime)
    with platform.unit_of_work() as session:
        checked = service.prepare(runtime, session=session, question=EN_QUESTION)
    # The collection goes away between the check and the search (deleted meanwhile).
    gone = service.AskInput(**{**checked.__dict__, "collections": ["deleted-meanwhile"]})

    async def collect() -> list[service.AskEvent]:
        return [event async for event in service.stream(runtime, gone)]

    events = asyncio.run(collect())
    assert [e.event for e in events] == ["error"]
    error = events[0].data["error"]
    assert error["type"] == "not_found" and "deleted-meanwhile" in error["message"]
    assert set(error) == {"message", "type", "code"}
    assert client.get("/api/answers").json()["total"] == 0
