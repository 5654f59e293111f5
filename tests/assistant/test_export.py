"""Feedback export as training data: SFT records, DPO pairs, raw JSONL; --since and
--min-rating semantics; the API endpoint and the CLI command agree."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner

from aiharness.assistant.models import Feedback
from aiharness.cli.main import app
from tests.assistant.test_api import EN_QUESTION, KO_QUESTION, UNANSWERABLE_EN

pytestmark = pytest.mark.integration


def export(client: TestClient, **params: str) -> list[dict[str, Any]]:
    response = client.get("/api/feedback/export", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


def test_export_formats_and_filters(
    make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client()
    ids = [
        client.post("/api/ask", json={"question": q}).json()["meta"]["answer_id"]
        for q in (EN_QUESTION, KO_QUESTION, UNANSWERABLE_EN)
    ]
    en, ko, none = ids
    en_answer = client.get(f"/api/answers/{en}").json()["answer"]

    def rate(answer_id: str, **body: Any) -> int:
        created = client.post(f"/api/ask/{answer_id}/feedback", json=body)
        assert created.status_code == 201
        return int(created.json()["id"])

    rate(en, rating="up")
    old = rate(ko, rating="down", comment="주기가 틀림", corrected_answer="2,000 운전시간마다 [1].")
    rate(none, rating="down")  # a thumbs-down without a correction approves nothing
    rate(en, rating="up", corrected_answer=en_answer)  # the same text: no DPO pair
    platform = client.app.state.platform  # type: ignore[attr-defined]
    with platform.unit_of_work() as session:
        session.execute(
            update(Feedback)
            .where(Feedback.id == old)
            .values(created_at=datetime(2026, 1, 1, tzinfo=UTC))
        )

    sft = export(client, format="sft")
    assert [(r["answer_id"], r["answer_origin"]) for r in sft] == [
        (ko, "corrected"),
        (en, "original"),
    ]
    record = sft[1]
    assert record["answer"] == en_answer and record["question"] == EN_QUESTION
    assert record["messages"][0]["role"] == "system"
    assert record["messages"][-1] == {"role": "assistant", "content": en_answer}
    assert (
        "[1]" in record["messages"][1]["content"]
        and EN_QUESTION in record["messages"][1]["content"]
    )
    assert record["contexts"] and {"n", "chunk_id", "file_name", "page", "text"} <= set(
        record["contexts"][0]
    )
    assert record["schema_version"] == 1 and record["generator"] == "extractive"

    dpo = export(client, format="dpo")
    assert len(dpo) == 1
    pair = dpo[0]
    assert pair["answer_id"] == ko and pair["chosen"] == "2,000 운전시간마다 [1]."
    assert pair["rejected"] == client.get(f"/api/answers/{ko}").json()["answer"]
    assert pair["prompt"][-1]["role"] == "user" and pair["language"] == "ko"

    raw = export(client)  # jsonl is the default
    assert len(raw) == 4 and {r["rating"] for r in raw} == {"up", "down"}
    assert {"feedback_id", "question", "answer", "retrieved", "contexts", "prompt"} <= set(raw[0])

    # --since keeps feedback given on or after the date; --min-rating up keeps thumbs-up only.
    assert [r["answer_id"] for r in export(client, format="sft", since="2026-06-01")] == [en]
    assert len(export(client, since="2026-01-01")) == 4
    assert export(client, format="dpo", min_rating="up") == []
    assert {r["rating"] for r in export(client, min_rating="up")} == {"up"}
    assert len(export(client, min_rating="down")) == 4
    for bad in ({"format": "csv"}, {"min_rating": "great"}, {"since": "soon"}):
        assert client.get("/api/feedback/export", params=bad).status_code == 422

    # The CLI, on the same data dir, writes the same records.
    data_dir = platform.settings.data_dir
    monkeypatch.setenv("AIHARNESS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("AIHARNESS_LOG_LEVEL", "warning")
    runner = CliRunner()
    out = Path(data_dir).parent / "sft.jsonl"
    result = runner.invoke(app, ["feedback", "export", "--format", "sft", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] == sft
    piped = runner.invoke(app, ["feedback", "export", "-f", "dpo", "--min-rating", "up"])
    assert piped.exit_code == 0 and piped.stdout == ""
    since = runner.invoke(app, ["feedback", "export", "-f", "jsonl", "--since", "2026-06-01"])
    assert len(since.stdout.splitlines()) == 3
    listed = runner.invoke(app, ["feedback", "list", "--rating", "down"])
    assert listed.exit_code == 0 and "주기가 틀림" in listed.output
    for args in (
        ["-f", "csv"],
        ["-f", "sft", "--min-rating", "best"],
        ["-f", "sft", "--since", "x"],
    ):
        refused = runner.invoke(app, ["feedback", "export", *args])
        assert refused.exit_code != 0 and "Traceback" not in refused.output
        assert "error:" in refused.output
