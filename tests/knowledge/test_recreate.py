"""Deleting a collection and creating one of the same name (and, on SQLite, possibly the same
integer id) never serves the old collection's vectors, in this process or after a restart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aiharness.app import create_app
from aiharness.knowledge.runtime import KnowledgeRuntime
from tests.knowledge import kb_fixtures
from tests.knowledge.kb_fixtures import CONVEYOR_EN, PUMP_KO, drain_jobs, kb_settings_for

pytestmark = pytest.mark.integration

kb_app = kb_fixtures.kb_app
kb_client = kb_fixtures.kb_client
kb_settings = kb_fixtures.kb_settings
run_jobs = kb_fixtures.run_jobs


def _fill(client: TestClient, run: Callable[[], list[str]], name: str, body: str) -> None:
    assert client.post("/api/collections", json={"name": name}).status_code == 201
    files = [("files", ("doc.txt", body.encode()))]
    assert client.post(f"/api/collections/{name}/documents", files=files).status_code == 202
    run()


def _texts(client: TestClient, query: str, mode: str) -> list[str]:
    response = client.get(
        "/api/rag/search", params={"q": query, "collection": "demo", "mode": mode}
    )
    assert response.status_code == 200, response.text
    return [hit["text"] for hit in response.json()]


def _index_files(client: TestClient) -> list[str]:
    platform = client.app.state.platform  # type: ignore[attr-defined]
    folder = platform.settings.data_dir / "index"
    return sorted(p.name for p in folder.glob("collection-*.npz")) if folder.is_dir() else []


def test_recreated_collection_searches_its_own_vectors(
    kb_client: TestClient, run_jobs: Callable[[], list[str]]
) -> None:
    _fill(kb_client, run_jobs, "demo", PUMP_KO)
    assert _texts(kb_client, "펌프 베어링", "vector")  # warms the in-memory index
    platform = kb_client.app.state.platform  # type: ignore[attr-defined]
    platform.get(KnowledgeRuntime).search_store().close()  # writes the index file
    assert len(_index_files(kb_client)) == 1

    assert kb_client.delete("/api/collections/demo").status_code == 204
    assert _index_files(kb_client) == []  # deleting a collection removes its index file
    _fill(kb_client, run_jobs, "demo", CONVEYOR_EN)
    for mode in ("vector", "hybrid", "keyword"):
        texts = _texts(kb_client, "belt tension rollers", mode)
        assert texts and all("Conveyor" in t for t in texts), (mode, texts)


def test_recreated_collection_after_a_restart(tmp_path: Path) -> None:
    settings = kb_settings_for(tmp_path)
    with TestClient(create_app(settings)) as first:

        def run_first() -> list[str]:
            return drain_jobs(first.app.state.platform)  # type: ignore[attr-defined]

        _fill(first, run_first, "demo", PUMP_KO)
        assert _texts(first, "펌프", "vector")
    with TestClient(create_app(settings)) as second:

        def run_second() -> list[str]:
            return drain_jobs(second.app.state.platform)  # type: ignore[attr-defined]

        assert second.delete("/api/collections/demo").status_code == 204
        _fill(second, run_second, "demo", CONVEYOR_EN)
    with TestClient(create_app(settings)) as third:
        texts = _texts(third, "belt tension rollers", "vector")
        assert texts and all("Conveyor" in t for t in texts), texts
        assert len(_index_files(third)) <= 1
