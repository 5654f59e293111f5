"""``aiharness ask``, ``chat --rag`` and ``feedback``: on the data dir and through the API."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from aiharness.cli.main import app
from tests.assistant.test_api import EN_QUESTION, KO_QUESTION
from tests.fixtures.servers import start_platform

pytestmark = pytest.mark.integration


@pytest.fixture
def data_dir(sample_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    shutil.copytree(sample_data_dir, data)
    monkeypatch.setenv("AIHARNESS_DATA_DIR", str(data))
    monkeypatch.setenv("AIHARNESS_LOG_LEVEL", "warning")
    monkeypatch.setenv("AIHARNESS_KNOWLEDGE__DEMO_INGEST", "off")
    monkeypatch.setenv("COLUMNS", "200")
    return data


def test_ask_on_the_data_dir(data_dir: Path) -> None:
    runner = CliRunner()
    as_json = runner.invoke(app, ["ask", EN_QUESTION, "--json", "-c", "demo", "--k", "4"])
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.stdout)
    assert body["meta"]["generator"] == "extractive" and "105" in body["answer"]
    text = runner.invoke(app, ["ask", KO_QUESTION])
    assert text.exit_code == 0, text.output
    assert "2,000" in text.stdout and "Sources" in text.stdout
    assert "[1] pump-p101-maintenance-manual.md" in text.stdout or (
        "pump-p101-maintenance-manual.md" in text.stdout
    )
    streamed = runner.invoke(app, ["ask", EN_QUESTION, "--stream"])
    assert streamed.exit_code == 0, streamed.output
    assert "105" in streamed.stdout and "air-compressor-troubleshooting.md" in streamed.stdout
    rag = runner.invoke(app, ["chat", "--rag", EN_QUESTION])
    assert rag.exit_code == 0, rag.output
    assert "105" in rag.stdout and "Sources" in rag.stdout
    piped = runner.invoke(app, ["chat", "--rag"], input=KO_QUESTION + "\n")
    assert piped.exit_code == 0 and "2,000" in piped.stdout
    # Mistakes are one line and a non-zero exit, never a traceback.
    for args, code in (
        (["ask", EN_QUESTION, "-c", "nope"], 1),
        (["ask", "  "], 2),
        (["ask", "x" * 9000], 1),
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == code, (args, result.output)
        assert "error:" in result.output and "Traceback" not in result.output
    listed = runner.invoke(app, ["feedback", "list"])
    assert listed.exit_code == 0 and "no feedback yet" in listed.output


def test_ask_and_export_through_the_api(data_dir: Path) -> None:
    platform = start_platform(data_dir)
    try:
        runner = CliRunner()
        url = ["--url", platform.base_url]
        result = runner.invoke(app, ["ask", EN_QUESTION, "--json", *url])
        assert result.exit_code == 0, result.output
        answer_id = json.loads(result.stdout)["meta"]["answer_id"]
        streamed = runner.invoke(app, ["ask", KO_QUESTION, "--stream", *url])
        assert streamed.exit_code == 0, streamed.output
        assert "2,000" in streamed.stdout and "pump-p101-maintenance-manual.md" in streamed.stdout
        missing = runner.invoke(app, ["ask", EN_QUESTION, "-c", "nope", *url])
        assert missing.exit_code == 1 and "collection 'nope' does not exist" in missing.output
        rated = httpx.post(
            f"{platform.base_url}/api/ask/{answer_id}/feedback",
            json={"rating": "down", "corrected_answer": "105 °C [1]."},
            timeout=10,
        )
        assert rated.status_code == 201
        pairs = runner.invoke(app, ["feedback", "export", "--format", "dpo", *url])
        assert pairs.exit_code == 0, pairs.output
        records = [json.loads(line) for line in pairs.stdout.splitlines()]
        assert [(r["answer_id"], r["chosen"]) for r in records] == [(answer_id, "105 °C [1].")]
        listed = runner.invoke(app, ["feedback", "list", "--json", *url])
        assert json.loads(listed.stdout)["total"] == 1
    finally:
        platform.stop()
