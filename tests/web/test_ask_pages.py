"""The Ask pages on a real app and database: the chat page in English and Korean (its script's
strings too), a conversation's answers with citation chips, generator label, fallback reason and
feedback, an answer's trace, the sidebar and dashboard partials, and ids that do not exist."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from aiharness.principal import Principal
from aiharness.web.pages.assistant import SCRIPT_STRINGS, cite
from tests.knowledge import kb_fixtures
from tests.knowledge.kb_fixtures import CONVEYOR_EN, PUMP_KO

pytestmark = pytest.mark.integration

kb_app = kb_fixtures.kb_app
kb_client = kb_fixtures.kb_client
kb_settings = kb_fixtures.kb_settings
run_jobs = kb_fixtures.run_jobs

HTML = {"Accept": "text/html"}
KO = {**HTML, "Accept-Language": "ko"}
QUESTION = "윤활유는 얼마나 자주 교체하나요?"


def _strings(page: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="ask-strings">(.*?)</script>', page)
    assert found is not None, "the page carries no strings for ask.js"
    strings: dict[str, Any] = json.loads(found.group(1))
    return strings


def _asked(client: TestClient, run: Callable[[], list[str]]) -> tuple[str, dict[str, Any]]:
    """A collection with two documents and one question asked in a new session."""
    assert client.post("/api/collections", json={"name": "plant"}).status_code == 201
    files = [
        ("files", ("pump.txt", PUMP_KO.encode(), "text/plain")),
        ("files", ("belt.txt", CONVEYOR_EN.encode(), "text/plain")),
    ]
    assert client.post("/api/collections/plant/documents", files=files).status_code == 202
    run()
    created = client.post("/api/chat/sessions", json={"title": "펌프 정비"})
    assert created.status_code == 201
    session_id: str = created.json()["id"]
    asked = client.post(
        "/api/ask",
        json={"question": QUESTION, "session_id": session_id, "collections": ["plant"]},
    )
    assert asked.status_code == 200, asked.text
    return session_id, asked.json()


@pytest.mark.unit
def test_markers_that_name_a_source_become_chips_and_the_text_is_escaped() -> None:
    shown = str(
        cite("Oil <b>every</b> 3 months [1][2]. Not [7].", [{"n": 1}, {"n": 2}], label="S {n}")
    )
    assert "&lt;b&gt;every&lt;/b&gt;" in shown
    assert shown.count('class="cite-chip"') == 2
    assert 'data-n="1" aria-label="S 1"' in shown and 'data-n="2"' in shown
    assert "Not [7]." in shown  # a marker with no source stays text


def test_the_empty_page_in_english_and_korean(kb_client: TestClient) -> None:
    english = kb_client.get("/ask", headers=HTML)
    assert english.status_code == 200
    assert '<a href="/ask" aria-current="page" class="active">Ask</a>' in english.text
    assert "ask.js" in english.text and "ask.css" in english.text
    assert 'aria-describedby="ask-keys"' in english.text and "Enter sends" in english.text
    assert "No conversations yet." in english.text
    strings = _strings(english.text)
    assert set(SCRIPT_STRINGS) <= strings.keys()
    assert strings["generator_extractive"] == "Extractive (no LLM)"

    korean = kb_client.get("/ask", headers=KO)
    assert korean.status_code == 200
    assert "<h1" in korean.text and "질의응답" in korean.text
    ko = _strings(korean.text)
    assert ko["generator_extractive"] == "발췌 답변 (LLM 없음)"
    # Nothing the script shows is English on a Korean page (placeholders and "LLM" aside).
    for name in SCRIPT_STRINGS:
        assert ko[name] != strings[name] or not re.search(r"[a-z]{3,}", ko[name]), name
    assert ["no LLM backend is configured", "설정된 LLM 백엔드가 없습니다"] in ko["reasons"]
    for english_text in ("Enter sends", "Not helpful", "New conversation", "All collections"):
        assert english_text not in korean.text


def test_a_conversation_shows_chips_generator_fallback_and_feedback(
    kb_client: TestClient, run_jobs: Callable[[], list[str]]
) -> None:
    session_id, body = _asked(kb_client, run_jobs)
    meta = body["meta"]
    assert meta["generator"] == "extractive" and not meta["refused"], body
    cited = {s["n"] for s in body["sources"]}
    assert cited, body

    page = kb_client.get("/ask", params={"session": session_id}, headers=HTML).text
    assert html.escape(QUESTION, quote=False) in page
    assert f'data-answer-id="{meta["answer_id"]}"' in page
    for n in cited:
        assert f'class="cite-chip" data-n="{n}"' in page
    assert "Extractive (no LLM)" in page
    assert "The LLM was not used: no LLM backend is configured" in page
    assert f'href="/ask/answers/{meta["answer_id"]}"' in page
    assert 'data-rating="down"' in page and 'name="corrected_answer"' in page
    sources = re.search(r"data-sources='([^']*)'", page.split("ask-assistant", 1)[1])
    assert sources is not None
    assert {s["n"] for s in json.loads(html.unescape(sources.group(1)))} >= cited
    # The sidebar lists the session, marked as the open one.
    assert f'<li data-session-id="{session_id}" data-title="펌프 정비" class="current">' in page

    korean = kb_client.get("/ask", params={"session": session_id}, headers=KO).text
    assert "발췌 답변 (LLM 없음)" in korean
    assert "LLM을 사용하지 못했습니다: 설정된 LLM 백엔드가 없습니다" in korean
    assert "no LLM backend is configured" not in korean.split('id="ask-strings"')[0]


def test_the_trace_page_feedback_dashboard_and_source_link(
    kb_client: TestClient, run_jobs: Callable[[], list[str]]
) -> None:
    session_id, body = _asked(kb_client, run_jobs)
    answer_id = body["meta"]["answer_id"]
    trace = kb_client.get(f"/ask/answers/{answer_id}", headers=HTML)
    assert trace.status_code == 200
    assert "Answer trace" in trace.text and html.escape(QUESTION, quote=False) in trace.text
    assert 'data-testid="search-query"' in trace.text
    assert "No prompt: the answer was composed without a language model." in trace.text
    assert "No feedback yet." in trace.text
    assert trace.text.count("<tr data-chunk-id=") >= len(body["sources"])
    assert f'href="/ask?session={session_id}"' in trace.text
    assert "답변 추적 정보" in kb_client.get(f"/ask/answers/{answer_id}", headers=KO).text

    given = kb_client.post(
        f"/api/ask/{answer_id}/feedback",
        json={"rating": "down", "comment": "too short", "corrected_answer": "3개월마다 교체"},
    )
    assert given.status_code == 201
    after = kb_client.get(f"/ask/answers/{answer_id}", headers=HTML).text
    assert 'data-rating="down"' in after and "too short" in after and "3개월마다 교체" in after

    card = kb_client.get("/ui/ask/dashboard")
    assert card.status_code == 200
    assert 'data-up="0" data-down="1"' in card.text
    assert f'href="/ask/answers/{answer_id}"' in card.text
    dashboard = kb_client.get("/", params={"lang": "en"}, headers=HTML).text
    assert "Answers and feedback" in dashboard and 'hx-get="/ui/ask/dashboard"' in dashboard

    source = body["sources"][0]
    moved = kb_client.get(f"/ask/sources/{source['chunk_id']}", follow_redirects=False)
    assert moved.status_code == 303
    location = moved.headers["location"]
    assert re.fullmatch(rf"/knowledge/plant/documents/{source['document_id']}#chunk-\d+", location)
    assert kb_client.get(location.split("#")[0], headers=HTML).status_code == 200


def test_the_session_list_partial_after_rename_and_delete(
    kb_client: TestClient, run_jobs: Callable[[], list[str]]
) -> None:
    session_id, _body = _asked(kb_client, run_jobs)
    listed = kb_client.get("/ui/ask/sessions", params={"current": session_id})
    assert listed.status_code == 200 and 'class="current"' in listed.text
    assert "2 messages" in listed.text
    renamed = kb_client.patch(f"/api/chat/sessions/{session_id}", json={"title": "Oil <change>"})
    assert renamed.status_code == 200
    korean = kb_client.get("/ui/ask/sessions", headers={"Accept-Language": "ko"}).text
    assert "Oil &lt;change&gt;" in korean and "메시지 2개" in korean
    assert kb_client.delete(f"/api/chat/sessions/{session_id}").status_code == 204
    assert "No conversations yet." in kb_client.get("/ui/ask/sessions").text


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/ask/answers/0123456789abcdef0123456789abcdef", 404),
        ("/ask/answers/not-an-answer", 404),
        ("/ask/answers/" + "a" * 65, 422),
        ("/ask?session=0123456789abcdef0123456789abcdef", 404),
        ("/ask?k=0", 422),
        ("/ask/sources/999999", 404),
        ("/ask/sources/abc", 422),
    ],
)
def test_what_does_not_exist_is_an_error_page(
    kb_client: TestClient, path: str, status: int
) -> None:
    page = kb_client.get(path, headers=KO)
    assert page.status_code == status
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>문제가 발생했습니다</h1>" in page.text or "문제가 발생했습니다" in page.text
    assert 'aria-current="page" class="active">질의응답</a>' in page.text


def test_fragments_answer_in_the_fragment_surface(kb_client: TestClient) -> None:
    """HTMX partials show their errors as a flash where the user acted, never a whole page."""
    empty = kb_client.get("/ui/ask/dashboard", headers={"Accept-Language": "ko"})
    assert empty.status_code == 200 and "아직 답변이 없습니다." in empty.text
    bad = kb_client.get(
        "/ui/ask/sessions", params={"current": "x" * 65}, headers={"HX-Request": "true"}
    )
    assert bad.status_code == 200  # HTMX swaps only 2xx answers
    assert 'class="flash down"' in bad.text and "<h1>" not in bad.text


def test_a_refused_answer_lists_the_passages_that_may_be_related(
    kb_client: TestClient, run_jobs: Callable[[], list[str]]
) -> None:
    session_id, _body = _asked(kb_client, run_jobs)
    fresh = kb_client.post("/api/chat/sessions", json={}).json()["id"]
    refused = kb_client.post(
        "/api/ask", json={"question": "What is the capital city of France?", "session_id": fresh}
    ).json()
    assert refused["meta"]["refused"] and refused["maybe_related"], refused
    page = kb_client.get("/ask", params={"session": fresh}, headers=HTML).text
    assert "Maybe related" in page
    related = page.split('data-role="related"', 1)[1].split("</section>", 1)[0]
    assert related.count('class="ask-source-link"') == len(refused["maybe_related"])
    refused_badge = re.search(r'<span class="badge refused" data-role="refused"([^>]*)>', page)
    assert refused_badge is not None and "hidden" not in refused_badge.group(1)
    # The answered conversation shows no refusal.
    answered = kb_client.get("/ask", params={"session": session_id}, headers=HTML).text
    badge = re.search(r'<span class="badge refused" data-role="refused"([^>]*)>', answered)
    assert badge is not None and "hidden" in badge.group(1)
    trace = kb_client.get(f"/ask/answers/{refused['meta']['answer_id']}", headers=KO).text
    assert "문서에 없음" in trace


class _Viewer:
    """A signed-in caller who may ask, in the "plant" collection only (no feedback, no traces)."""

    async def resolve(self, request: Any) -> Principal:
        return Principal(
            id="viewer",
            name="viewer",
            authenticated=True,
            via="key",
            permissions=frozenset({"assistant:ask"}),
            collections=frozenset({"plant"}),
        )


def test_a_caller_sees_only_what_they_may_use(
    kb_app: FastAPI, kb_client: TestClient, run_jobs: Callable[[], list[str]]
) -> None:
    admins_session, admins = _asked(kb_client, run_jobs)
    assert kb_client.post("/api/collections", json={"name": "secret"}).status_code == 201
    files = [("files", ("secret.txt", "윤활유 교체 비밀 절차".encode(), "text/plain"))]
    assert kb_client.post("/api/collections/secret/documents", files=files).status_code == 202
    run_jobs()
    hits = kb_client.get("/api/rag/search", params={"q": "비밀 절차", "collection": "secret"})
    secret_chunk = hits.json()[0]["chunk_id"]
    admin = kb_client.get("/ask", params={"session": admins_session}, headers=HTML).text
    assert '<option value="secret">' in admin and 'data-role="trace"' in admin
    kb_app.state.platform.principal_resolver = _Viewer()
    # Another caller's conversation is neither listed nor opened, and its answer not rated.
    assert (
        kb_client.get("/ask", params={"session": admins_session}, headers=HTML).status_code == 404
    )
    assert kb_client.get(f"/api/chat/sessions/{admins_session}").status_code == 404
    assert kb_client.get("/api/chat/sessions").json()["total"] == 0
    assert kb_client.delete(f"/api/chat/sessions/{admins_session}").status_code == 404
    joined = kb_client.post("/api/ask", json={"question": QUESTION, "session_id": admins_session})
    assert joined.status_code == 404
    own = kb_client.post("/api/chat/sessions", json={"title": "mine"}).json()["id"]
    body = kb_client.post("/api/ask", json={"question": QUESTION, "session_id": own}).json()
    assert body["sources"] and {s["collection"] for s in body["sources"]} == {"plant"}
    page = kb_client.get("/ask", params={"session": own}, headers=HTML)
    assert page.status_code == 200 and admins_session not in page.text
    assert '<option value="plant">' in page.text and '<option value="secret">' not in page.text
    assert 'data-role="trace"' not in page.text and 'data-rating="down"' not in page.text
    assert 'class="cite-chip"' in page.text  # the answer and its sources stay readable
    assert kb_client.get(f"/ask/sources/{secret_chunk}").status_code == 404
    mine = body["sources"][0]["chunk_id"]
    assert kb_client.get(f"/ask/sources/{mine}", follow_redirects=False).status_code == 303
    trace = kb_client.get(f"/ask/answers/{admins['meta']['answer_id']}", headers=HTML)
    assert trace.status_code == 403
    card = kb_client.get("/ui/ask/dashboard", headers={"HX-Request": "true"})
    assert 'class="flash down"' in card.text and "/ask/answers/" not in card.text
