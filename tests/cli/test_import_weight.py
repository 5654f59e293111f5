"""The CLI starts fast: loading it (every feature's description and commands) imports neither the
web framework, nor SQLAlchemy, nor the settings classes; commands import what they use."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

HEAVY = ("fastapi", "sqlalchemy", "pydantic_settings", "numpy", "kiwipiepy")


def test_loading_the_cli_imports_no_heavy_module() -> None:
    probe = (
        f"import sys, aiharness.cli.main; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    assert loaded == "", f"aiharness.cli.main imports {loaded}"
