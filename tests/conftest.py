"""Test-wide setup: isolated data dir and environment, shared fixtures.

The offline guarantee is pytest-socket, configured in pyproject.toml (``--allow-hosts``): any
connection to a host other than loopback fails the test that tries it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fixtures.databases",
    "tests.fixtures.queues",
    "tests.fixtures.apps",
    "tests.fixtures.servers",
    "tests.fixtures.browser",
]


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own data dir and no stray AIHARNESS_* settings from the shell."""
    for key in list(os.environ):
        if key.startswith("AIHARNESS_") and not key.startswith("AIHARNESS_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AIHARNESS_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture(scope="session")
def test_output_dir() -> Path:
    path = Path(__file__).parent.parent / "test-output"
    path.mkdir(exist_ok=True)
    return path
