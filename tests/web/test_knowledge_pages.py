"""The knowledge pages a user works in: a document's own page (search results link to it), the
collection page's order and cards, deleting a collection with confirmation, and scores that are
never shown as negative numbers."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aiharness.knowledge.schemas import SearchHit
from aiharness.web.templating import WebUI
from tests.knowledge import kb_fixtures
from tests.knowledge.kb_fixtures import CONVEYOR_EN, PUMP_KO

pytestmark = pytest.mark.integration

kb_app = kb_fixtures.kb_app
kb_client = kb_fixtures.kb_client
kb_settings = kb_fixtures.kb_settings
run_jobs = kb_fixtures.run_jobs

HTML = {"Accept": "text/html"}


def _fill(client: TestClient, run: Callable[[], list[str]]) -> dict[str, dict[str, Any]]:
    assert client.post("/api/collections", json={"name": "plant"}).status_code == 201
    files = [
        ("files", ("pump.txt", PUMP_KO.encode(), "text/plain")),
        ("files", ("belt.txt", CONVEYOR_EN.encode(), "text/plain")),
        ("files", ("empty.txt", b"", "text/plain")),
    ]
    assert client.post("/api/collections/plant/documents", files=files).status_code == 202
    run()
    items = client.get("/api/documents", params={"collection": "plant"}).json()["items"]
    return {d["file_name"]: d for d in items}


def test_document_page_shows_facts_status_error_and_passages(
    kb_client: TestClient, run_jobs: Callable[[], list[str]]
) -> None:
    docs = _fill(kb_client, run_jobs)
    pump = kb_client.get(f"/knowledge/plant/documents/{docs['pump.txt']['id']}", headers=HTML)
    assert pump.status_code == 200
    assert "<h1>pump.txt</h1>" in pump.text
    assert 'id="chunk-0"' in pump.text and "윤활유는 3개월마다 교체하고" in pump.text
    assert 'class="badge ready"' in pump.text
    empty_id = docs["empty.txt"]["id"]
    failed = kb_client.get(
        f"/knowledge/plant/documents/{empty_id}", headers={**HTML, "Accept-Language": "ko"}
    )
    assert 'class="badge failed"' in failed.text
    assert "empty.txt 파일이 비어 있습니다." in failed.text
    # The collection's document table links each file to its page.
    listing = kb_client.get("/knowledge/plant", headers=HTML).text
    assert f'href="/knowledge/plant/documents/{empty_id}"' in listing


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/knowledge/other/documents/1", 404),  # a document is shown under its own collection
        ("/knowledge/plant/documents/99999", 404),
        ("/knowledge/plant/documents/99999999999999999999", 422),
        ("/knowledge/plant/documents/abc", 422),
    ],
)
def test_document_page_refuses_what_is_not_there(
    kb_client: TestClient, run_jobs: Callable[[], list[str]], path: str, status: int
) -> None:
    _fill(kb_client, run_jobs)
    page = kb_client.get(path, headers=HTML)
    assert page.status_code == status
    assert page.headers["content-type"].startswith("text/html")


def test_search_results_link_to_the_passage_in_its_document(
    kb_client: TestClient, run_jobs: Callable[[], list[str]]
) -> None:
    docs = _fill(kb_client, run_jobs)
    results = kb_client.get(
        "/ui/partials/knowledge/search", params={"q": "윤활유 교체", "collection": "plant"}
    ).text
    link = re.search(r'href="(/knowledge/plant/documents/(\d+)#chunk-(\d+))"', results)
    assert link is not None, results
    assert int(link.group(2)) == docs["pump.txt"]["id"]
    target = kb_client.get(link.group(1).split("#")[0], headers=HTML).text
    assert f'id="chunk-{link.group(3)}"' in target
    assert "relevance 100%" in results and "#1 · " in results


def test_collection_page_order_and_an_empty_collection_has_no_reembed_card(
    kb_client: TestClient, run_jobs: Callable[[], list[str]]
) -> None:
    assert kb_client.post("/api/collections", json={"name": "fresh"}).status_code == 201
    fresh = kb_client.get("/knowledge/fresh", headers=HTML).text
    assert 'id="reembed"' not in fresh
    _fill(kb_client, run_jobs)
    page = kb_client.get("/knowledge/plant", headers=HTML).text
    assert 'id="reembed"' in page  # a collection with vectors can be re-embedded
    assert page.index('class="knowledge-search"') < page.index('id="documents"')


def test_a_collection_is_deleted_from_its_page_after_confirmation(
    kb_client: TestClient, run_jobs: Callable[[], list[str]]
) -> None:
    _fill(kb_client, run_jobs)
    page = kb_client.get("/knowledge/plant", headers=HTML).text
    button = re.search(r'<button[^>]*data-action="delete-collection"[^>]*>', page)
    assert button is not None
    assert 'hx-post="/ui/knowledge/plant/delete"' in button.group(0)
    assert 'hx-confirm="Delete the collection plant with its 3 documents' in button.group(0)

    deleted = kb_client.post("/ui/knowledge/plant/delete")
    assert deleted.status_code == 200
    assert deleted.headers["hx-redirect"] == "/knowledge"
    assert kb_client.get("/api/collections/plant").status_code == 404
    assert kb_client.get("/api/documents").json()["total"] == 0
    again = kb_client.post("/ui/knowledge/plant/delete", headers={"Accept-Language": "ko"})
    assert again.status_code == 200 and 'class="flash down"' in again.text
    assert "컬렉션 'plant'이(가) 없습니다" in html.unescape(again.text)


def _hit(rank: int, score: float) -> SearchHit:
    return SearchHit(
        chunk_id=rank,
        document_id=rank,
        source_path=f"/d/{rank}.txt",
        file_name=f"{rank}.txt",
        page=None,
        heading=None,
        chunk_index=0,
        score=score,
        text=f"passage {rank}",
        collection="plant",
    )


@pytest.mark.unit
@pytest.mark.parametrize(
    ("scores", "shown"),
    [
        ([0.8, 0.4, 0.2], [100, 50, 25]),
        ([-0.1, -0.5, -1.3], [100, 67, 0]),  # fused z-scores below zero
        ([0.9, -0.3], [100, 0]),
        ([0.0], [100]),
    ],
)
def test_scores_show_as_rank_and_relevance_never_negative(
    scores: list[float], shown: list[int]
) -> None:
    web = WebUI()
    page = web.templates.get_template("_knowledge_results.html").render(
        **web.helpers("en"),
        results=[(_hit(i + 1, s), f"passage {i + 1}") for i, s in enumerate(scores)],
        error=None,
        query="q",
    )
    percents = [int(p) for p in re.findall(r"relevance (\d+)%", page)]
    assert percents == shown
    assert re.findall(r"#(\d+) · ", page) == [str(i + 1) for i in range(len(scores))]
    visible = re.sub(r"<[^>]+>", " ", page)
    assert not re.search(r"-\d", visible), visible
