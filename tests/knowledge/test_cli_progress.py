"""``aiharness ingest`` follows one progress aggregate, shows the real rate and names twins."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from aiharness.cli import progress
from aiharness.cli.local import LocalBackend
from aiharness.cli.main import app
from tests.knowledge.kb_fixtures import CONVEYOR_EN, PUMP_KO


def test_rate_is_chunks_over_wall_time_with_an_eta_from_it() -> None:
    # 30 chunks in 20 s is 1.5 chunks/s whatever the jobs reported; 1 of 4 files took 20 s.
    line = progress.rate_line(chunks=30, settled=1, total=4, elapsed_s=20.0)
    assert line == "1.5 chunks/s · ETA 1m 00s"
    assert progress.rate_line(chunks=30, settled=4, total=4, elapsed_s=20.0) == "1.5 chunks/s"
    assert progress.rate_line(chunks=0, settled=0, total=4, elapsed_s=0.0) == ""
    assert progress.format_duration(3725) == "1h 02m"
    assert progress.POLL_S >= 1.0


@pytest.mark.integration
def test_ingest_polls_one_aggregate_and_reports_duplicates_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("AIHARNESS_LOG_LEVEL", "warning")
    monkeypatch.setenv("AIHARNESS_DATA_DIR", str(tmp_path / "data"))
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a_pump.txt").write_text(PUMP_KO, encoding="utf-8")
    (folder / "b_copy.txt").write_text(PUMP_KO, encoding="utf-8")  # same bytes as a_pump.txt
    (folder / "belt.md").write_text(f"# Conveyor\n\n{CONVEYOR_EN}", encoding="utf-8")
    calls: list[tuple[str, float]] = []
    original = LocalBackend.ingest_progress

    def counted(self: LocalBackend, *args: Any, **kwargs: Any) -> Any:
        calls.append(("progress", time.monotonic()))
        return original(self, *args, **kwargs)

    def per_document(self: LocalBackend, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the progress loop must not ask for documents one by one")

    monkeypatch.setattr(LocalBackend, "ingest_progress", counted)
    monkeypatch.setattr(LocalBackend, "documents", per_document)
    started = time.monotonic()
    result = CliRunner().invoke(app, ["ingest", str(folder), "-c", "plant"])
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert "2 queued, 0 already indexed, 1 duplicate(s), 0 rejected" in result.output
    assert "b_copy.txt: duplicate of a_pump.txt" in result.output
    assert "2 document(s) indexed" in result.output and "chunks/s" in result.output
    # At most one poll a second (plus the first one).
    assert 1 <= len(calls) <= elapsed / progress.POLL_S + 1
    again = CliRunner().invoke(app, ["ingest", str(folder / "belt.md"), "-c", "plant"])
    assert "1 already indexed, 0 duplicate(s)" in again.output
