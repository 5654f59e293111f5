"""``aiharness jobs ...`` against a real SQLite database and queue: tables and clean errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aiharness.cli.main import app
from aiharness.db.engine import create_db_engine, create_session_factory, session_scope
from aiharness.jobs import lifecycle

pytestmark = pytest.mark.integration


@pytest.fixture
def cli_env(
    sqlite_url: str, sqlite_queue_url: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    env = {
        "AIHARNESS_DATABASE_URL": sqlite_url,
        "AIHARNESS_QUEUE_URL": sqlite_queue_url,
        "AIHARNESS_JOB_MODULES": '["tests.jobs.handlers"]',
        "COLUMNS": "200",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def _submitted_id(output: str) -> str:
    match = re.search(r"job ([0-9a-f]{32})", output)
    assert match, output
    return match.group(1)


def test_submit_list_show_cancel_retry(cli_env: dict[str, str], sqlite_url: str) -> None:
    code, out = _run("jobs", "submit", "test.record", "--params", '{"value": 5}')
    assert code == 0, out
    job_id = _submitted_id(out)
    code, out = _run("jobs", "list")
    assert code == 0
    assert job_id[:12] in out
    assert "queued" in out
    code, out = _run("jobs", "show", job_id[:8])
    assert code == 0
    assert '"value": 5' in out
    code, out = _run("jobs", "cancel", job_id[:8])
    assert (code, "cancelled" in out) == (0, True)
    code, out = _run("jobs", "list", "--status", "cancelled", "--json")
    assert code == 0
    assert job_id in out
    code, out = _run("jobs", "retry", job_id)
    assert code == 0
    assert "queued again" in out


def test_show_failed_job_prints_traceback_and_log(cli_env: dict[str, str], sqlite_url: str) -> None:
    code, out = _run("jobs", "submit", "noop")
    job_id = _submitted_id(out)
    engine = create_db_engine(sqlite_url)
    with session_scope(create_session_factory(engine)) as session:
        claim = lifecycle.claim_job(session=session, job_id=job_id, worker_id="w")
        assert claim is not None
        lifecycle.finish_job(
            session=session,
            claim=claim,
            status="failed",
            done=0,
            total=None,
            message="",
            log_tail="[12:00:00] tried\n",
            error="OSError: disk full",
            error_traceback="Traceback (most recent call last):\nOSError: disk full",
        )
    engine.dispose()
    code, out = _run("jobs", "show", job_id)
    assert code == 0
    assert "Traceback (most recent call last)" in out
    assert "tried" in out
    code, out = _run("jobs", "watch", job_id, "--interval", "0.2")
    assert code == 1  # watched job failed
    assert "failed" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("jobs", "submit", "nope"), "unknown job type 'nope'"),
        (("jobs", "submit", "sleep", "--params", '{"seconds": -1}'), "invalid parameters"),
        (("jobs", "submit", "sleep", "--params", "{oops"), "--params is not valid JSON"),
        (("jobs", "submit", "sleep", "--params", "[1]"), "must be a JSON object"),
        (("jobs", "show", "ffff"), "job ffff does not exist"),
        (("jobs", "cancel", "ffff"), "job ffff does not exist"),
        (("jobs", "list", "--status", "weird"), "unknown status 'weird'"),
        (("worker", "--queue", "Bad Name!"), "queue name 'Bad Name!'"),
    ],
)
def test_user_mistakes_are_one_clean_line(
    cli_env: dict[str, str], args: tuple[str, ...], needle: str
) -> None:
    code, out = _run(*args)
    assert code != 0
    assert needle in out
    assert "Traceback" not in out


def test_unmigrated_database_is_a_clean_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIHARNESS_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setenv("AIHARNESS_AUTO_MIGRATE", "false")
    code, out = _run("jobs", "list")
    assert code == 2
    assert "aiharness db upgrade" in out
    assert "Traceback" not in out


def test_the_jobs_table_fits_80_columns_without_cutting_states(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = _run("jobs", "submit", "test.record", "--params", '{"value": 1}')
    assert code == 0, out
    monkeypatch.setenv("COLUMNS", "80")
    code, out = _run("jobs", "list")
    assert code == 0
    assert "queued" in out  # whole, not "q…"
    assert max(len(line) for line in out.splitlines()) <= 80


def test_json_output_keeps_hangul_readable(cli_env: dict[str, str]) -> None:
    import json

    code, out = _run("jobs", "submit", "noop", "--params", '{"note": "펌프 점검"}')
    assert code == 0, out
    code, out = _run("jobs", "list", "--json")
    assert code == 0
    assert "펌프 점검" in out
    assert json.loads(out)["items"][0]["params"] == {"note": "펌프 점검"}
