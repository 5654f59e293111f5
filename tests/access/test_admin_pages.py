"""Admin -> Users and Keys in the browser, and the audit rows every access change leaves
(with no secret in them or in the log)."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.access.conftest import PASSWORD, bearer, make_user, sign_in

pytestmark = pytest.mark.integration


def _audit(app: FastAPI) -> list[tuple[str, str, str, str]]:
    with app.state.platform.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT action, target, result, coalesce(details, '') FROM audit_log ORDER BY id")
        )
        return [(str(a), str(t), str(r), str(d)) for a, t, r, d in rows]


def test_an_admin_creates_a_viewer_and_a_key_in_the_ui(
    app: FastAPI, client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    make_user(app, "boss", "admin")
    csrf = sign_in(client, "boss")
    page = client.get("/admin")
    assert "/admin/users" in page.text and "/admin/keys" in page.text
    created = client.post(
        "/admin/users",
        data={
            "username": "vic",
            "password": "viewer password",
            "role": "viewer",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    assert 'data-user="vic"' in client.get("/admin/users").text
    key_page = client.post(
        "/admin/keys",
        data={"name": "vic-laptop", "user": "vic", "collections": "plant-a", "csrf_token": csrf},
    )
    assert key_page.status_code == 201
    assert key_page.headers["cache-control"] == "no-store"
    found = re.search(r"aih_[A-Za-z0-9_-]{43}", key_page.text)
    assert found is not None
    secret = found.group(0)
    listing = client.get("/admin/keys").text
    assert secret not in listing and secret[:12] in listing
    me = client.get("/api/auth/me", headers=bearer(secret)).json()
    assert me["roles"] == ["viewer"] and me["collections"] == ["plant-a"]
    key_id = re.search(r'data-key="(\d+)"', listing)
    assert key_id is not None
    revoked = client.post(
        f"/admin/keys/{key_id.group(1)}/revoke", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert revoked.status_code == 303
    assert client.get("/api/auth/me", headers=bearer(secret)).status_code == 401
    bad = client.post(
        "/admin/users",
        data={
            "username": "bad name",
            "password": "viewer password",
            "role": "viewer",
            "csrf_token": csrf,
        },
    )
    assert bad.status_code == 422 and "data-error" in bad.text
    changed = client.post(
        "/admin/users/vic", data={"role": "operator", "csrf_token": csrf}, follow_redirects=False
    )
    assert changed.status_code == 303
    out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303

    actions = [(a, t, r) for a, t, r, _ in _audit(app)]
    for expected in [
        ("auth.login", "user:boss", "ok"),
        ("user.create", "user:vic", "ok"),
        ("key.create", "key:1", "ok"),
        ("key.revoke", "key:1", "ok"),
        ("user.update", "user:vic", "ok"),
        ("auth.logout", "user:boss", "ok"),
    ]:
        assert expected in actions, expected
    everything = " ".join(d for *_, d in _audit(app)) + capsys.readouterr().out
    assert secret not in everything and "viewer password" not in everything
    assert PASSWORD not in everything


def test_api_changes_are_audited(app: FastAPI, client: TestClient) -> None:
    make_user(app, "root", "admin")
    from tests.access.conftest import make_key

    admin = bearer(make_key(app, user="root"))
    assert (
        client.post(
            "/api/roles", json={"name": "reader", "permissions": ["knowledge:read"]}, headers=admin
        ).status_code
        == 201
    )
    assert (
        client.post(
            "/api/users",
            json={"username": "rita", "password": "reader password", "role": "reader"},
            headers=admin,
        ).status_code
        == 201
    )
    assert (
        client.patch(
            "/api/users/rita", json={"password": "another password"}, headers=admin
        ).status_code
        == 200
    )
    assert client.delete("/api/roles/reader", headers=admin).status_code == 409  # still used
    actions = {(a, t) for a, t, _r, _d in _audit(app)}
    assert {
        ("role.create", "role:reader"),
        ("user.create", "user:rita"),
        ("user.password", "user:rita"),
    } <= actions
    denied = client.post("/api/users", json={"username": "x", "password": "y" * 12})
    assert denied.status_code == 401
