"""Docs are tested: generated settings tables match the model; the quickstart is two commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiharness.settings_docs import END_MARKER, START_MARKER, settings_table

pytestmark = pytest.mark.unit

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize("doc", ["README.md", "docs/configuration.md"])
def test_settings_table_is_current(doc: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    section = text.split(START_MARKER)[1].split(END_MARKER)[0].strip()
    assert section == settings_table(), f"{doc} is stale: run `make docs`"


def test_readme_quickstart_is_make_run_and_make_test() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run" in readme
    assert "make test" in readme


def test_ci_runs_make_test() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_linked_docs_exist() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for target in ("docs/operations.md", "docs/configuration.md", "docs/development.md"):
        assert target in readme
        assert (ROOT / target).exists()
