"""``aiharness audit`` on the local data dir (changes made by CLI commands act as
``cli:<os user>``) and through a running server with ``--url``."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aiharness.app import create_app
from aiharness.cli.main import app
from aiharness.features import make_settings
from aiharness.observability.context import SYSTEM_ACTOR, set_process_actor
from tests.gateway.conftest import serve

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _reset_process_actor() -> Iterator[None]:
    yield
    set_process_actor(SYSTEM_ACTOR)  # the CLI commands ran in this process


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_local_changes_are_listed_with_the_os_user(tmp_path: Path) -> None:
    code, out = _run("collections", "create", "manuals")
    assert code == 0, out
    code, out = _run("collections", "delete", "manuals", "--yes")
    assert code == 0, out
    code, out = _run("audit", "--json")
    assert code == 0, out
    page = json.loads(out)
    assert [e["action"] for e in page["items"]] == [
        "knowledge.collection.delete",
        "knowledge.collection.create",
    ]
    assert {e["actor_id"] for e in page["items"]} == {f"cli:{getpass.getuser()}"}
    assert all(e["request_id"] is None for e in page["items"])
    code, out = _run("audit", "--action", "knowledge.collection.create")
    assert code == 0 and "audit log (1 of 1)" in out, out
    code, out = _run("audit", "--action", "knowledge.*", "--json")
    assert code == 0 and json.loads(out)["total"] == 2
    code, out = _run("audit", "--since", "1h", "--limit", "1", "--json")
    assert code == 0 and len(json.loads(out)["items"]) == 1
    code, out = _run("audit", "--actor", "somebody-else")
    assert code == 0 and "no audit entries match" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "yesterday"), "not a time"),
        (("--result", "maybe"), "--result must be one of"),
        (("--limit", "0"), "limit"),
    ],
)
def test_bad_options_are_one_clean_line(args: tuple[str, ...], message: str) -> None:
    code, out = _run("audit", *args)
    assert code != 0 and message in out and "Traceback" not in out


def test_the_cli_reads_a_running_server_with_url(tmp_path: Path) -> None:
    settings = make_settings(
        data_dir=tmp_path / "served",
        log_format="json",
        jobs={"worker_enabled": False},
        knowledge={"demo_ingest": "off"},
    )
    server, thread, url = serve(create_app(settings))
    try:
        import httpx

        assert httpx.post(f"{url}/api/collections", json={"name": "remote"}).status_code == 201
        code, out = _run("audit", "--url", url, "--json")
        assert code == 0, out
        # The server runs in this process: its request log lines share stdout.
        item = json.loads(out[out.index("{\n") :])["items"][0]
        assert item["action"] == "knowledge.collection.create"
        assert item["target"] == "collection:remote"
        assert item["client_address"] == "127.0.0.1" and item["request_id"]
    finally:
        server.should_exit = True
        thread.join(timeout=30)
