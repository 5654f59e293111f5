"""Modes: open only on loopback (and it says so), required otherwise; the first-run page."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from aiharness.access.runtime import is_loopback
from aiharness.app import create_app
from aiharness.config import ConfigError, Settings
from aiharness.features import make_settings
from tests.access.conftest import PASSWORD
from tests.fixtures.servers import start_platform

pytestmark = pytest.mark.integration


def _settings(tmp_path: Path, **values: Any) -> Settings:
    return make_settings(
        data_dir=tmp_path / "data",
        log_format="json",
        jobs={"worker_enabled": False},
        knowledge={"demo_ingest": "off"},
        **values,
    )


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.1.2.3", False),
        ("plant-server", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_default_is_open_on_loopback_with_a_banner(tmp_path: Path) -> None:
    with TestClient(create_app(_settings(tmp_path))) as client:
        assert client.get("/api/collections").status_code == 200
        page = client.get("/")
        assert page.status_code == 200 and "open-banner" in page.text
        assert client.get("/api/auth/me").json()["via"] == "open"
        # Clients that must send some key (the openai SDK) may send anything but a bad aih_ key.
        assert client.get("/v1/models", headers={"Authorization": "Bearer sk-x"}).status_code == 200
        assert (
            client.get("/v1/models", headers={"Authorization": "Bearer aih_x"}).status_code == 401
        )
        # Open mode still refuses a cross-site form post.
        cross = client.post(
            "/api/collections", json={"name": "x"}, headers={"Origin": "https://evil.example"}
        )
        assert cross.status_code == 403


def test_auto_requires_sign_in_on_a_non_loopback_bind(tmp_path: Path) -> None:
    with TestClient(create_app(_settings(tmp_path, host="0.0.0.0"))) as client:
        assert client.get("/api/collections").status_code == 401
        assert client.get("/health").status_code == 200


def test_open_mode_on_a_non_loopback_bind_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"access\.mode is 'open'"):
        create_app(_settings(tmp_path, host="0.0.0.0", access={"mode": "open"}))


def test_first_run_only_on_loopback_while_no_user_exists(tmp_path: Path) -> None:
    settings = _settings(tmp_path, host="0.0.0.0")
    with TestClient(create_app(settings), client=("10.0.0.5", 1234)) as remote:
        assert remote.get("/first-run").status_code == 404
    with TestClient(create_app(settings), client=("127.0.0.1", 1234)) as local:
        proxied = local.get("/first-run", headers={"X-Forwarded-For": "10.0.0.5"})
        assert proxied.status_code == 404
        assert "aiharness users create-admin" in local.get("/login").text
        assert local.get("/first-run").status_code == 200
        made = local.post(
            "/first-run",
            data={"username": "admin", "password": PASSWORD, "confirm": PASSWORD},
            follow_redirects=False,
        )
        assert made.status_code == 303
        assert local.get("/api/auth/me").json()["roles"] == ["admin"]
        assert local.get("/first-run").status_code == 404


def _cli(
    data_dir: Path, *args: str, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aiharness", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "AIHARNESS_DATA_DIR": str(data_dir), "COLUMNS": "200", **env},
        check=False,
    )


@pytest.mark.slow
def test_a_fresh_install_on_all_addresses_refuses_strangers(tmp_path: Path) -> None:
    """``aiharness up --host 0.0.0.0``: nothing but the public list without a key; an admin
    made with the CLI creates a viewer and a scoped key; ``--url`` takes AIHARNESS_API_KEY."""
    data = tmp_path / "data"
    server = start_platform(data, args=("--host", "0.0.0.0", "--no-worker"))
    try:
        url = server.base_url
        assert httpx.get(f"{url}/api/collections").status_code == 401
        assert httpx.get(f"{url}/knowledge", follow_redirects=False).status_code == 303
        assert httpx.get(f"{url}/v1/models").status_code == 401
        assert httpx.get(f"{url}/health").status_code == 200
        made = _cli(data, "users", "create-admin", "--password-stdin", stdin=PASSWORD + "\n")
        assert made.returncode == 0, made.stderr
        admin = _cli(data, "keys", "create", "--name", "ops", "--user", "admin", "--json")
        admin_key = httpx.Response(200, content=admin.stdout).json()["key"]
        env = {"AIHARNESS_API_KEY": admin_key}
        viewer = _cli(
            data,
            "users",
            "create",
            "vic",
            "--role",
            "viewer",
            "--password-stdin",
            "--url",
            url,
            stdin="viewer password\n",
            **env,
        )
        assert viewer.returncode == 0, viewer.stderr
        for name in ("plant-a", "plant-b"):
            made = _cli(data, "collections", "create", name, "--url", url, **env)
            assert made.returncode == 0, made.stderr
        scoped = _cli(
            data,
            "keys",
            "create",
            "--name",
            "a-only",
            "--user",
            "vic",
            "--collections",
            "plant-a",
            "--json",
            "--url",
            url,
            **env,
        )
        scoped_key = httpx.Response(200, content=scoped.stdout).json()["key"]
        listed = _cli(data, "collections", "list", "--url", url, AIHARNESS_API_KEY=scoped_key)
        assert listed.returncode == 0, listed.stderr
        assert "plant-a" in listed.stdout and "plant-b" not in listed.stdout
        shown = _cli(
            data, "collections", "show", "plant-b", "--url", url, AIHARNESS_API_KEY=scoped_key
        )
        assert shown.returncode == 1 and "does not exist" in shown.stderr
        # The viewer's key changes nothing; no key at all is one clear line.
        refused = _cli(
            data, "collections", "create", "plant-a2", "--url", url, AIHARNESS_API_KEY=scoped_key
        )
        assert refused.returncode == 1 and "lacks" in refused.stderr
        nokey = _cli(data, "collections", "list", "--url", url)
        assert nokey.returncode == 1 and "HTTP 401" in nokey.stderr
        assert admin_key not in server.log() and scoped_key not in server.log()
    finally:
        server.stop()
