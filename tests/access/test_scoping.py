"""A key or user limited to some collections cannot list, fetch, search, ingest into or delete
documents of others: through the API (and its alias), the web UI and knowledge.public."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from aiharness.knowledge import public as knowledge
from tests.access.conftest import bearer, make_key, make_user, sign_in
from tests.fixtures.jobs import drain_jobs

pytestmark = pytest.mark.integration

DOCS = {
    "plant-a": ("pump.txt", "Centrifugal pump maintenance: check the bearing temperature weekly."),
    "plant-b": ("secret.txt", "Compressor bearing inspection secret procedure for plant B."),
}


@pytest.fixture
def loaded(app: FastAPI, client: TestClient) -> dict[str, int]:
    """Two collections with one indexed document each; returns each collection's doc id."""
    admin = bearer(make_key(app, role="admin", name="admin"))
    ids: dict[str, int] = {}
    for name, (file_name, content) in DOCS.items():
        assert (
            client.post("/api/collections", json={"name": name}, headers=admin).status_code == 201
        )
        upload = client.post(
            f"/api/collections/{name}/documents",
            files=[("files", (file_name, content.encode(), "text/plain"))],
            headers=admin,
        )
        assert upload.status_code == 202, upload.text
        ids[name] = upload.json()["documents"][0]["document_id"]
    drain_jobs(app.state.platform)
    return ids


def test_a_scoped_key_sees_and_changes_only_its_collections(
    app: FastAPI, client: TestClient, loaded: dict[str, int]
) -> None:
    key = bearer(make_key(app, role="operator", collections=["plant-a"]))
    names = [c["name"] for c in client.get("/api/collections", headers=key).json()]
    assert names == ["plant-a"]
    assert client.get("/api/collections/plant-b", headers=key).status_code == 404
    documents = client.get("/api/documents", headers=key).json()
    assert [d["collection"] for d in documents["items"]] == ["plant-a"] and documents["total"] == 1
    assert client.get("/api/documents?collection=plant-b", headers=key).status_code == 404
    other = loaded["plant-b"]
    assert client.get(f"/api/documents/{other}", headers=key).status_code == 404
    assert client.delete(f"/api/documents/{other}", headers=key).status_code == 404
    assert client.delete("/api/collections/plant-b", headers=key).status_code == 404
    assert client.get("/api/collections/plant-b/progress", headers=key).status_code == 404
    assert client.post("/api/collections/plant-b/reembed", headers=key).status_code == 404
    upload = client.post(
        "/api/collections/plant-b/documents",
        files=[("files", ("x.txt", b"planted text", "text/plain"))],
        headers=key,
    )
    assert upload.status_code == 404
    assert client.post("/api/collections", json={"name": "plant-c"}, headers=key).status_code == 403
    ingest = client.post("/api/ingest", json={"path": "/tmp", "collection": "plant-b"}, headers=key)
    assert ingest.status_code == 403
    for path in ("/api/rag/search", "/rag/search"):
        hits = client.get(path, params={"q": "bearing", "k": 10}, headers=key).json()
        assert hits and {h["collection"] for h in hits} == {"plant-a"}
        named = client.get(path, params={"q": "bearing", "collection": "plant-b"}, headers=key)
        assert named.status_code == 404
    # The document of plant-b is still there for the admin.
    admin = bearer(make_key(app, role="admin", name="check"))
    assert client.get(f"/api/documents/{other}", headers=admin).status_code == 200


def test_a_scoped_user_in_the_web_ui(
    app: FastAPI, client: TestClient, loaded: dict[str, int]
) -> None:
    make_user(app, "ops-a", "operator", collections=["plant-a"])
    csrf = sign_in(client, "ops-a")
    page = client.get("/knowledge")
    assert "plant-a" in page.text and "plant-b" not in page.text
    assert client.get("/knowledge/plant-b").status_code == 404
    other = loaded["plant-b"]
    assert client.get(f"/knowledge/plant-b/documents/{other}").status_code == 404
    results = client.get("/ui/partials/knowledge/search", params={"q": "bearing"})
    assert "pump.txt" in results.text and "secret.txt" not in results.text
    deleted = client.post(
        f"/ui/knowledge/documents/{other}/delete",
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
    )
    assert 'class="flash down"' in deleted.text
    admin = bearer(make_key(app, role="admin", name="check"))
    assert client.get(f"/api/documents/{other}", headers=admin).status_code == 200


def test_knowledge_public_search_takes_the_callers_collections(
    app: FastAPI, client: TestClient, loaded: dict[str, int]
) -> None:
    """What the assistant calls: nothing outside the allow-list is searched."""
    platform = app.state.platform
    runtime = platform.get(knowledge.KnowledgeRuntime)
    with platform.unit_of_work() as session:
        hits = knowledge.search(
            runtime, session=session, query="bearing", k=10, collections=frozenset({"plant-a"})
        )
        assert hits and {h.collection for h in hits} == {"plant-a"}
        everything = knowledge.search(runtime, session=session, query="bearing", k=10)
        assert {h.collection for h in everything} == {"plant-a", "plant-b"}
        assert (
            knowledge.find_collection(
                session=session, name="plant-b", collections=frozenset({"plant-a"})
            )
            is None
        )
        listed = knowledge.list_collections(session=session, collections=frozenset({"plant-a"}))
        assert [c.name for c in listed] == ["plant-a"]
