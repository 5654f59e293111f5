"""Chat sessions: CRUD, turns appended by asking in a session, follow-ups rewritten into
standalone search queries (heuristic without a model, the model's rewrite with one)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aiharness.assistant.followup import content_terms, refers_back, standalone
from aiharness.principal import Principal
from tests.assistant.conftest import ScriptedLLM, backend
from tests.assistant.test_llm import passage_numbers

pytestmark = pytest.mark.integration


def test_sessions_crud(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    created = client.post("/api/chat/sessions", json={"title": "  펌프   점검 "})
    assert created.status_code == 201
    chat = created.json()
    assert chat["title"] == "펌프 점검" and chat["message_count"] == 0
    assert len(chat["id"]) == 32 and int(chat["id"], 16) >= 0
    other = client.post("/api/chat/sessions", json={}).json()
    assert other["id"] != chat["id"] and other["title"] == ""
    listed = client.get("/api/chat/sessions").json()
    assert listed["total"] == 2 and {s["id"] for s in listed["items"]} == {chat["id"], other["id"]}
    renamed = client.patch(f"/api/chat/sessions/{chat['id']}", json={"title": "Pump P-101"})
    assert renamed.status_code == 200 and renamed.json()["title"] == "Pump P-101"
    assert client.get(f"/api/chat/sessions/{chat['id']}").json()["messages"] == []
    assert client.delete(f"/api/chat/sessions/{chat['id']}").status_code == 204
    for method in ("get", "delete"):
        assert getattr(client, method)(f"/api/chat/sessions/{chat['id']}").status_code == 404
    assert client.patch("/api/chat/sessions/nope", json={"title": "x"}).status_code == 404
    assert client.patch(f"/api/chat/sessions/{other['id']}", json={}).status_code == 422
    too_long = client.post("/api/chat/sessions", json={"title": "t" * 201})
    assert too_long.status_code == 422
    assert client.get("/api/chat/sessions").json()["total"] == 1


class _Caller:
    """A signed-in caller who may ask and rate answers (not an operator)."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def resolve(self, request: Any) -> Principal:
        allowed = frozenset({"assistant:ask", "assistant:feedback"})
        return Principal(
            id=f"user:{self.name}",
            name=self.name,
            authenticated=True,
            via="key",
            permissions=allowed,
        )


def test_conversations_and_answers_belong_to_their_caller(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()
    platform = client.app.state.platform  # type: ignore[attr-defined]
    platform.principal_resolver = _Caller("kim")
    chat = client.post("/api/chat/sessions", json={"title": "kim's"}).json()
    asked = client.post(
        "/api/ask",
        json={"question": "How often is the belt tension checked?", "session_id": chat["id"]},
    ).json()
    answer_id = asked["meta"]["answer_id"]
    platform.principal_resolver = _Caller("lee")
    assert client.get("/api/chat/sessions").json() == {"items": [], "total": 0}
    for method in ("get", "delete"):
        assert getattr(client, method)(f"/api/chat/sessions/{chat['id']}").status_code == 404
    renamed = client.patch(f"/api/chat/sessions/{chat['id']}", json={"title": "mine now"})
    assert renamed.status_code == 404
    joined = client.post(
        "/api/ask", json={"question": "and the rollers?", "session_id": chat["id"]}
    )
    assert joined.status_code == 404 and joined.json()["error"]["code"] == "session_not_found"
    rated = client.post(f"/api/ask/{answer_id}/feedback", json={"rating": "down"})
    assert rated.status_code == 404
    platform.principal_resolver = _Caller("kim")
    mine = client.get(f"/api/chat/sessions/{chat['id']}").json()
    assert mine["title"] == "kim's" and len(mine["messages"]) == 2
    assert client.post(f"/api/ask/{answer_id}/feedback", json={"rating": "up"}).status_code == 201


def test_asking_in_a_session_appends_turns_and_carries_the_subject(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()
    chat = client.post("/api/chat/sessions", json={}).json()
    first = client.post(
        "/api/ask",
        json={
            "question": "How do I clean the oil cooler of the AC-2 compressor?",
            "session_id": chat["id"],
        },
    ).json()
    assert first["meta"]["session_id"] == chat["id"]
    follow = client.post(
        "/api/ask", json={"question": "At what temperature does it trip?", "session_id": chat["id"]}
    ).json()
    trace = client.get(f"/api/answers/{follow['meta']['answer_id']}").json()
    # The follow-up searched with the previous question's subject in front.
    assert trace["question"] == "At what temperature does it trip?"
    assert "ac-2" in trace["search_query"].lower() and "compressor" in trace["search_query"]
    assert "105" in follow["answer"], follow
    detail = client.get(f"/api/chat/sessions/{chat['id']}").json()
    assert detail["message_count"] == 4
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant", "user", "assistant"]
    assert detail["messages"][2]["content"] == "At what temperature does it trip?"
    last = detail["messages"][3]
    assert last["answer_id"] == follow["meta"]["answer_id"] and last["content"] == follow["answer"]
    assert last["sources"] == follow["sources"]
    assert detail["title"].startswith("How do I clean the oil cooler")
    by_session = client.get("/api/answers", params={"session_id": chat["id"]}).json()
    assert by_session["total"] == 2
    # Deleting the session keeps its answers (and their traces) for operators.
    assert client.delete(f"/api/chat/sessions/{chat['id']}").status_code == 204
    assert client.get(f"/api/answers/{follow['meta']['answer_id']}").status_code == 200


def test_the_model_rewrites_follow_ups_when_there_is_one(
    make_client: Callable[..., TestClient], llms: Callable[..., ScriptedLLM]
) -> None:
    def answer(body: dict[str, Any]) -> str:
        system = body["messages"][0]["content"]
        if "standalone" in system:
            return "AC-2 compressor A-11 high discharge temperature trip point"
        return f"It trips at 105 °C [{passage_numbers(body)[0]}]."

    llm = llms("rewriter", answer)
    client = make_client(gateway={"backends": [backend("a", llm.url)]})
    chat = client.post("/api/chat/sessions", json={}).json()
    client.post(
        "/api/ask", json={"question": "Tell me about alarm A-11 on AC-2.", "session_id": chat["id"]}
    )
    follow = client.post(
        "/api/ask", json={"question": "When does it trip?", "session_id": chat["id"]}
    ).json()
    trace = client.get(f"/api/answers/{follow['meta']['answer_id']}").json()
    assert trace["search_query"] == "AC-2 compressor A-11 high discharge temperature trip point"
    rewrite = next(r for r in llm.requests if "standalone" in r["messages"][0]["content"])
    assert "Tell me about alarm A-11 on AC-2." in rewrite["messages"][1]["content"]
    assert rewrite["messages"][1]["content"].rstrip().endswith("When does it trip?")


def test_follow_up_heuristic() -> None:
    previous = ["P-101 펌프의 베어링 그리스는 어떻게 보충하나요?"]
    assert standalone("그 주기는 얼마인가요?", previous).startswith("p-101 펌프 베어링 그리스")
    assert standalone("How often?", ["How do I change the oil of pump P-101?"]) == (
        "change oil pump p-101 How often?"
    )
    # A question naming its own subject stays as it is.
    own = "What is the belt tension of conveyor CV-03 after splicing?"
    assert standalone(own, ["How do I change the oil of pump P-101?"]) == own
    assert standalone("How often?", []) == "How often?"
    assert refers_back("Does it need a permit?") and not refers_back("Does CV-03 need a permit?")
    assert content_terms("What is the rated flow of P-101?") == ["rated", "flow", "p-101"]


def test_a_question_that_stands_on_its_own_is_not_rewritten(
    make_client: Callable[..., TestClient], llms: Callable[..., ScriptedLLM]
) -> None:
    llm = llms("no-rewrite", lambda body: f"105 °C [{passage_numbers(body)[0]}].")
    client = make_client(gateway={"backends": [backend("a", llm.url)]})
    chat = client.post("/api/chat/sessions", json={}).json()
    for question in ("Tell me about alarm A-11 on AC-2.", "What is the rated flow of pump P-101?"):
        client.post("/api/ask", json={"question": question, "session_id": chat["id"]})
    assert not any("standalone" in r["messages"][0]["content"] for r in llm.requests)
    assert len(llm.requests) == 2
