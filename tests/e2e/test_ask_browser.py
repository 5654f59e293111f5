"""The Ask page in a real browser against a real ``aiharness up`` (no LLM configured: the
extractive generator answers): ask, watch the tokens stream, get the final answer with citation
chips, open a chip's passage, give a thumbs-down with a correction and find it in /api/feedback;
the session in the sidebar; the answer's trace; Korean; no sideways scrolling at 390 px."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from aiharness.app import create_app
from aiharness.features import make_settings
from tests.assistant.conftest import ScriptedLLM, backend
from tests.e2e.site import COLLECTION, DOC_TEXT, seed
from tests.fixtures.jobs import drain_jobs
from tests.fixtures.servers import RunningPlatform, start_platform
from tests.gateway.conftest import serve

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

QUESTION = "How often should the pump bearings be inspected?"
CORRECTION = "Every six months, with the oil changed at the same time."
FINISHED = """() => {
  const answers = document.querySelectorAll('#ask-conversation article.ask-assistant');
  const last = answers[answers.length - 1];
  return last && ['done', 'error'].includes(last.dataset.state);
}"""
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    running = start_platform(tmp_path_factory.mktemp("ask") / "data")
    try:
        seed(running.base_url)  # collection "plant": pump.md (Korean and English) and a failure
        yield running
    finally:
        running.stop()


@pytest.fixture
def llm_site(tmp_path: Path) -> Iterator[tuple[str, ScriptedLLM]]:
    """The app served by uvicorn with one scripted LLM backend that streams slowly: an answer
    citing a passage that does not exist (the final answer drops it) and passage 1."""
    llm = ScriptedLLM(
        "scripted", "Per [77] and the manual, the pump bearings are inspected every six months [1]."
    )
    llm.token_delay_s = 0.2
    settings = make_settings(
        data_dir=tmp_path / "data",
        log_format="json",
        log_level="warning",
        jobs={"worker_enabled": False},
        knowledge={"demo_ingest": "off"},
        gateway={"health_interval_s": 3600, "backends": [backend("scripted", llm.url)]},
    )
    app = create_app(settings)
    server, thread, url = serve(app)
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            client.post("/api/collections", json={"name": COLLECTION}).raise_for_status()
            files = [("files", ("pump.md", DOC_TEXT.encode(), "text/markdown"))]
            client.post(f"/api/collections/{COLLECTION}/documents", files=files).raise_for_status()
        drain_jobs(app.state.platform)
        yield url, llm
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        llm.close()


def _watch(page: Any) -> tuple[set[str], list[str]]:
    hosts: set[str] = set()
    errors: list[str] = []
    page.on("request", lambda request: hosts.add(urlparse(request.url).hostname or ""))
    page.on("console", lambda msg: errors.extend([msg.text] if msg.type == "error" else []))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return hosts, errors


def _ask(page: Any, question: str) -> Any:
    """Type the question, send it with Enter, and wait for the final answer."""
    box = page.locator("#ask-question")
    box.fill(question)
    box.press("Enter")
    answer = page.locator("#ask-conversation article.ask-assistant").last
    page.wait_for_function(FINISHED, timeout=60_000)
    assert answer.get_attribute("data-state") == "done", answer.inner_text()
    return answer


def test_ask_stream_cite_and_give_feedback(
    platform: RunningPlatform, page: Any, test_output_dir: Path
) -> None:
    base = platform.base_url
    hosts, errors = _watch(page)
    page.goto(base + "/ask")
    assert page.locator("h1").inner_text().startswith("Ask")
    # Shift+Enter is a new line, not a send.
    page.locator("#ask-question").press("Shift+Enter")
    assert page.locator("#ask-conversation article").count() == 0

    answer = _ask(page, QUESTION)
    assert int(answer.get_attribute("data-tokens") or 0) > 1  # streamed, token by token
    assert page.locator("#ask-conversation article.ask-user").last.inner_text() == QUESTION
    text = answer.locator("[data-role=text]")
    assert text.get_attribute("aria-live") == "polite"
    assert re.search(r"six months", text.inner_text(), re.IGNORECASE), text.inner_text()
    assert "[1]" not in text.inner_text()  # markers became chips
    chips = answer.locator(".cite-chip")
    assert chips.count() >= 1
    meta = answer.locator("[data-role=meta]")
    assert "Extractive (no LLM)" in meta.inner_text()
    assert "The LLM was not used: no LLM backend is configured" in meta.inner_text()
    assert re.search(r"\d+ ms", meta.inner_text())
    assert not answer.locator("[data-role=refused]").is_visible()
    assert not answer.locator("[data-role=related]").is_visible()
    answer_id = answer.get_attribute("data-answer-id")
    assert answer_id and re.fullmatch(r"[0-9a-f]{32}", answer_id)

    # A chip opens its passage with the file it comes from.
    chips.first.click()
    dialog = page.locator("#ask-passage")
    dialog.wait_for(state="visible")
    assert "pump.md" in dialog.locator("[data-role=file]").inner_text()
    assert "six months" in dialog.locator("[data-role=text]").inner_text()
    open_link = dialog.locator("a[data-role=open]").get_attribute("href") or ""
    assert open_link.startswith("/ask/sources/")
    page.screenshot(path=str(test_output_dir / "ask-passage-en.png"), full_page=True)
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")

    # Thumbs down with a correction, saved where the feedback export reads it.
    answer.locator("button[data-rating=down]").click()
    form = answer.locator(".ask-feedback-form")
    form.wait_for(state="visible")
    form.locator("textarea[name=comment]").fill("misses the oil")
    form.locator("textarea[name=corrected_answer]").fill(CORRECTION)
    form.locator("button[type=submit]").click()
    answer.locator(".ask-feedback-status").filter(has_text="Thank you").wait_for()
    form.wait_for(state="hidden")
    feedback = httpx.get(base + "/api/feedback", params={"rating": "down"}).json()
    mine = [f for f in feedback["items"] if f["answer_id"] == answer_id]
    assert len(mine) == 1, feedback
    assert mine[0]["corrected_answer"] == CORRECTION and mine[0]["comment"] == "misses the oil"
    assert mine[0]["question"] == QUESTION

    # The conversation became a session: in the address bar and in the sidebar.
    assert re.search(r"/ask\?session=[0-9a-f]{32}$", page.url), page.url
    session_id = page.url.rsplit("=", 1)[1]
    page.locator(f'#ask-sessions li[data-session-id="{session_id}"]').wait_for()
    page.screenshot(path=str(test_output_dir / "ask-en.png"), full_page=True)

    # The chip's link opens the document at the passage.
    page.goto(base + open_link)
    assert page.locator("h1").inner_text() == "pump.md"
    assert page.locator("li:target .passage-text").count() == 1

    # The operator's trace of the answer, with the feedback just given.
    page.goto(f"{base}/ask/answers/{answer_id}")
    assert page.locator("h1").inner_text() == "Answer trace"
    assert page.locator("[data-testid=search-query]").inner_text().strip()
    assert page.locator("table.ask-retrieved tr[data-chunk-id]").count() >= 1
    assert CORRECTION in page.locator(".ask-feedback-list").inner_text()

    # Reopening the session shows the conversation as it was, chips and all.
    page.goto(f"{base}/ask?session={session_id}")
    again = page.locator("#ask-conversation article.ask-assistant").first
    assert again.locator(".cite-chip").count() == chips.count()
    again.locator(".cite-chip").first.click()
    page.locator("#ask-passage").wait_for(state="visible")
    page.locator("#ask-passage button[data-action=close-passage]").click()

    # A question the documents do not answer: said so, with the passages that may be related.
    page.click("a[data-action=new-session]")
    page.wait_for_url(base + "/ask")
    refused = _ask(page, "What is the capital city of France?")
    assert refused.locator("[data-role=refused]").is_visible()
    assert "The documents do not" in refused.locator("[data-role=text]").inner_text()
    related = refused.locator("[data-role=related] button.ask-source-link")
    assert related.count() >= 1
    related.first.click()
    page.locator("#ask-passage").wait_for(state="visible")
    assert "pump.md" in page.locator("#ask-passage [data-role=file]").inner_text()
    page.keyboard.press("Escape")

    # A collection deleted after the page loaded: the API's 404 is shown where the answer goes.
    httpx.post(base + "/api/collections", json={"name": "gone"}).raise_for_status()
    page.goto(base + "/ask")
    page.select_option("select[name=collection]", "gone")
    httpx.delete(base + "/api/collections/gone").raise_for_status()
    page.locator("#ask-question").fill(QUESTION)
    page.click("#ask-form button[type=submit]")
    failed = page.locator("#ask-conversation article.ask-assistant").last
    failed.locator(".ask-error").wait_for()
    assert failed.get_attribute("data-state") == "error"
    assert "No answer could be given." in failed.inner_text() and "gone" in failed.inner_text()
    errors[:] = [e for e in errors if "404" not in e]  # the browser logs the refused request

    # Rename the first conversation (a prompt), then delete it (a confirmation) while it is open.
    page.goto(f"{base}/ask?session={session_id}")
    item = page.locator(f'#ask-sessions li[data-session-id="{session_id}"]')
    page.once("dialog", lambda dialog: dialog.accept("Bearing intervals"))
    item.locator("button[data-action=rename-session]").click()
    item.locator("a", has_text="Bearing intervals").wait_for()
    assert (
        httpx.get(f"{base}/api/chat/sessions/{session_id}").json()["title"] == "Bearing intervals"
    )
    page.once("dialog", lambda dialog: dialog.dismiss())
    item.locator("button[data-action=delete-session]").click()
    page.wait_for_timeout(300)
    assert httpx.get(f"{base}/api/chat/sessions/{session_id}").status_code == 200
    page.once("dialog", lambda dialog: dialog.accept())
    item.locator("button[data-action=delete-session]").click()
    page.wait_for_url(base + "/ask")
    assert httpx.get(f"{base}/api/chat/sessions/{session_id}").status_code == 404
    assert page.locator(f'#ask-sessions li[data-session-id="{session_id}"]').count() == 0
    assert hosts == {"127.0.0.1"}, f"the page contacted other hosts: {hosts}"
    assert not errors, errors


def test_korean_and_a_phone_screen(
    platform: RunningPlatform, browser: Any, test_output_dir: Path
) -> None:
    base = platform.base_url
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ko-KR")
    page = context.new_page()
    _hosts, errors = _watch(page)
    try:
        page.goto(base + "/ask?lang=ko")
        assert page.locator("h1").inner_text().startswith("질의응답")
        assert page.evaluate(OVERFLOW) <= 0
        # The session list hides behind a button on a phone.
        sessions = page.locator("#ask-sessions-wrap")
        assert not sessions.is_visible()
        answer = _ask(page, "펌프 베어링은 얼마나 자주 점검하나요?")
        meta = answer.locator("[data-role=meta]").inner_text()
        assert "발췌 답변 (LLM 없음)" in meta and "설정된 LLM 백엔드가 없습니다" in meta
        assert "6개월" in answer.locator("[data-role=text]").inner_text()
        assert answer.locator(".cite-chip").count() >= 1
        assert page.evaluate(OVERFLOW) <= 0, "the conversation scrolls sideways at 390 px"
        page.locator("button[data-action=toggle-history]").click()
        sessions.wait_for(state="visible")
        assert page.locator("#ask-sessions li[data-session-id]").count() >= 1
        assert page.evaluate(OVERFLOW) <= 0
        answer.locator(".cite-chip").first.click()
        page.locator("#ask-passage").wait_for(state="visible")
        assert page.evaluate(OVERFLOW) <= 0
        page.screenshot(path=str(test_output_dir / "ask-390-ko.png"), full_page=True)
        page.keyboard.press("Escape")

        # The conversation deleted elsewhere (another tab): the next question starts a new one.
        old_session = page.url.rsplit("=", 1)[1]
        httpx.delete(f"{base}/api/chat/sessions/{old_session}").raise_for_status()
        _ask(page, "윤활유는 언제 교체하나요?")
        new_session = page.url.rsplit("=", 1)[1]
        assert new_session != old_session
        assert httpx.get(f"{base}/api/chat/sessions/{new_session}").json()["message_count"] == 2
        errors[:] = [e for e in errors if "404" not in e]  # the refused first try

        answer_id = answer.get_attribute("data-answer-id")
        page.goto(f"{base}/ask/answers/{answer_id}")
        assert page.locator("h1").inner_text() == "답변 추적 정보"
        assert page.evaluate(OVERFLOW) <= 0, "the trace page scrolls sideways at 390 px"
        page.screenshot(path=str(test_output_dir / "ask-trace-390-ko.png"), full_page=True)
        assert not errors, errors
    finally:
        context.close()


def test_an_llm_answer_streams_then_becomes_the_cleaned_answer_and_falls_back_when_down(
    llm_site: tuple[str, ScriptedLLM], page: Any, test_output_dir: Path
) -> None:
    base, llm = llm_site
    _hosts, errors = _watch(page)
    page.goto(base + "/ask")
    box = page.locator("#ask-question")
    box.fill(QUESTION)
    box.press("Enter")
    answer = page.locator("#ask-conversation article.ask-assistant").last
    # While it streams, the model's own text shows as it comes, invented marker and all ...
    page.wait_for_function(
        "() => document.querySelector('#ask-conversation article.ask-assistant')"
        ".textContent.includes('[77]')",
        timeout=30_000,
    )
    assert answer.get_attribute("data-state") == "streaming"
    assert answer.locator("[data-role=text]").get_attribute("aria-busy") == "true"
    page.wait_for_function(FINISHED, timeout=60_000)
    # ... and the final answer replaces it: markers of given passages as chips, the rest gone.
    text = answer.locator("[data-role=text]").inner_text()
    assert "[77]" not in text and "[1]" not in text and "six months" in text
    assert answer.locator(".cite-chip").count() == 1
    meta = answer.locator("[data-role=meta]").inner_text()
    assert "LLM" in meta and "Extractive" not in meta and "scripted-model" in meta
    assert not answer.locator("[data-role=fallback]").is_visible()
    answer_id = answer.get_attribute("data-answer-id")
    page.screenshot(path=str(test_output_dir / "ask-llm-en.png"), full_page=True)

    # Stop while it streams: the partial text stays, marked as stopped; the next question works.
    box.fill("Which bearings are inspected?")
    box.press("Enter")
    stopped = page.locator("#ask-conversation article.ask-assistant").last
    page.wait_for_function(
        "() => [...document.querySelectorAll('#ask-conversation article.ask-assistant')]"
        ".pop().dataset.state === 'streaming'",
        timeout=30_000,
    )
    page.click("#ask-form button[data-action=stop]")
    page.wait_for_function(FINISHED.replace("'done', 'error'", "'stopped'"), timeout=10_000)
    assert "Stopped." in stopped.inner_text()
    assert page.locator("#ask-form button[data-action=stop]").is_hidden()

    # Every backend down: the extractive answer, labelled so, and the reason (in Korean too).
    llm.close()
    page.goto(base + "/ask?lang=ko")
    fallback = _ask(page, "펌프 베어링은 얼마나 자주 점검하나요?")
    meta = fallback.locator("[data-role=meta]").inner_text()
    assert "발췌 답변 (LLM 없음)" in meta
    assert "LLM을 사용하지 못했습니다: 모든 LLM 백엔드가 응답하지 않습니다" in meta
    assert fallback.locator(".cite-chip").count() >= 1

    # The trace of the LLM answer shows the prompt the model was sent.
    page.goto(f"{base}/ask/answers/{answer_id}")
    assert page.locator("pre.ask-prompt").count() >= 2
    assert "[1]" in page.locator("pre.ask-prompt").last.inner_text()
    assert not errors, errors
