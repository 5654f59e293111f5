"""The CLI as a user runs it: real subprocesses, clean one-line errors, non-zero exits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aiharness import __version__

pytestmark = pytest.mark.integration


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "aiharness", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
    )


def assert_clean_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in result.stderr


def test_version_via_python_m() -> None:
    result = run_cli("version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"aiharness {__version__}"


def test_db_upgrade_then_current(tmp_path: Path) -> None:
    env = {"AIHARNESS_DATA_DIR": str(tmp_path / "d")}
    before = run_cli("db", "current", env=env)
    assert before.returncode == 0 and "empty" in before.stdout
    upgraded = run_cli("db", "upgrade", env=env)
    assert upgraded.returncode == 0 and "upgraded from empty" in upgraded.stdout
    current = run_cli("db", "current", env=env)
    assert "(head)" in current.stdout


def test_db_upgrade_on_postgresql(postgres_url: str) -> None:
    result = run_cli("db", "current", env={"AIHARNESS_DATABASE_URL": postgres_url})
    assert result.returncode == 0, result.stderr
    assert "(head)" in result.stdout


def test_doctor_passes_on_a_migrated_data_dir(tmp_path: Path) -> None:
    env = {"AIHARNESS_DATA_DIR": str(tmp_path / "d")}
    run_cli("db", "upgrade", env=env)
    result = run_cli("doctor", env=env)
    assert result.returncode == 0, result.stdout
    for row in ("python", "data dir", "database", "offline"):
        assert row in result.stdout
    assert "all checks passed" in result.stdout


def test_doctor_fails_and_says_how_to_fix_an_unmigrated_database(tmp_path: Path) -> None:
    result = run_cli("doctor", env={"AIHARNESS_DATA_DIR": str(tmp_path / "d")})
    assert result.returncode == 1
    assert "aiharness db upgrade" in result.stdout


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"AIHARNESS_DATABASE_URL": "not a url"}, "is not a database URL"),
        ({"AIHARNESS_DATABASE_URL": "mysql://x@y/z"}, "supported: sqlite"),
        ({"AIHARNESS_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/x"}, "cannot open"),
        ({"AIHARNESS_PORT": "http"}, "AIHARNESS_PORT"),
        ({"AIHARNESS_LOG_LEVEL": "loud"}, "AIHARNESS_LOG_LEVEL"),
    ],
)
def test_bad_settings_give_one_clear_line(env: dict[str, str], fragment: str) -> None:
    assert_clean_error(run_cli("db", "upgrade", env=env), fragment)


def test_unwritable_data_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    result = run_cli("db", "upgrade", env={"AIHARNESS_DATA_DIR": str(blocker / "data")})
    assert_clean_error(result, "is not writable", "AIHARNESS_DATA_DIR")


def test_database_at_an_unknown_revision(tmp_path: Path) -> None:
    import sqlite3

    env = {"AIHARNESS_DATA_DIR": str(tmp_path / "d")}
    run_cli("db", "upgrade", env=env)
    with sqlite3.connect(tmp_path / "d" / "aiharness.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0999_future'")
    assert_clean_error(run_cli("db", "upgrade", env=env), "0999_future", "does not know")
    assert_clean_error(run_cli("up", "--port", "1", env=env), "0999_future")


def test_production_refuses_the_default_secret(tmp_path: Path) -> None:
    env = {"AIHARNESS_DATA_DIR": str(tmp_path / "d"), "AIHARNESS_ENV": "prod"}
    assert_clean_error(run_cli("up", env=env), "AIHARNESS_SECRET_KEY")


def test_a_command_in_a_folder_without_data_refuses_to_start_one(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIHARNESS_")}
    env["COLUMNS"] = "200"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "aiharness", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
            check=False,
        )

    refused = run("collections", "list")
    assert_clean_error(refused, "there is no platform data dir here", str(tmp_path / "data"))
    assert refused.returncode == 2
    assert not (tmp_path / "data").exists()
    asked = run("--data-dir", str(tmp_path / "mine"), "collections", "list")
    assert asked.returncode == 0, asked.stderr
    assert (tmp_path / "mine").is_dir()
