"""API keys: shown once, stored hashed, bound to a user or role; wrong, expired, revoked and
malformed credentials are a clear 401 (OpenAI's shape on /v1); never a secret in a listing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from aiharness.access.models import ApiKey
from aiharness.access.service import token_hash
from aiharness.db.base import utcnow
from tests.access.conftest import bearer, make_key, make_user, runtime_of

pytestmark = pytest.mark.integration


def test_created_key_is_shown_once_and_stored_hashed(app: FastAPI, client: TestClient) -> None:
    admin = make_key(app, role="admin", name="admin")
    created = client.post(
        "/api/keys",
        json={"name": "ci", "role": "viewer", "expires_in_days": 30},
        headers=bearer(admin),
    )
    assert created.status_code == 201, created.text
    secret = created.json()["key"]
    assert secret.startswith("aih_") and len(secret) > 40
    listing = client.get("/api/keys", headers=bearer(admin))
    assert secret not in listing.text and "key_hash" not in listing.text
    assert {k["prefix"] for k in listing.json()} >= {secret[:12]}
    with app.state.platform.engine.connect() as conn:
        dump = " ".join(str(row) for row in conn.execute(text("SELECT * FROM access_api_keys")))
    assert secret not in dump and token_hash(secret) in dump
    me = client.get("/api/auth/me", headers=bearer(secret))
    assert me.status_code == 200 and me.json()["roles"] == ["viewer"]


def test_last_used_is_kept(app: FastAPI, client: TestClient) -> None:
    key = make_key(app, role="viewer")
    assert client.get("/api/collections", headers=bearer(key)).status_code == 200
    with app.state.platform.unit_of_work() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.key_hash == token_hash(key))).one()
        assert row.last_used_at is not None


@pytest.mark.parametrize(
    "header",
    [
        "Bearer aih_not-a-key-at-all-not-a-key-at-all-xx",
        "Bearer sk-openai-style",
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer aih_a aih_b",
        "Bearer " + "aih_" + "x" * 400,
        "aih_without_scheme",
    ],
)
def test_bad_authorization_is_401(client: TestClient, header: str) -> None:
    api = client.get("/api/collections", headers={"Authorization": header})
    assert api.status_code == 401
    assert api.json()["error"]["code"] in ("bad_key", "malformed_authorization")
    assert api.headers["www-authenticate"] == "Bearer"
    v1 = client.get("/v1/models", headers={"Authorization": header})
    assert v1.status_code == 401
    assert v1.json()["error"]["type"] == "authentication_error"


def test_revoked_key_stops_at_once(app: FastAPI, client: TestClient) -> None:
    admin = make_key(app, role="admin", name="admin")
    key = client.post("/api/keys", json={"name": "tmp", "role": "viewer"}, headers=bearer(admin))
    secret, key_id = key.json()["key"], key.json()["id"]
    assert client.get("/api/collections", headers=bearer(secret)).status_code == 200  # cached
    assert client.delete(f"/api/keys/{key_id}", headers=bearer(admin)).status_code == 204
    assert client.get("/api/collections", headers=bearer(secret)).status_code == 401
    assert client.delete("/api/keys/999999", headers=bearer(admin)).status_code == 404


def test_expired_key_is_refused(app: FastAPI, client: TestClient) -> None:
    key = make_key(app, role="viewer")
    with app.state.platform.unit_of_work() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.key_hash == token_hash(key))).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
    runtime_of(app).forget()
    assert client.get("/api/collections", headers=bearer(key)).status_code == 401


def test_key_of_a_disabled_user_is_refused(app: FastAPI, client: TestClient) -> None:
    make_user(app, "dana", "operator")
    make_user(app, "root", "admin")
    key = make_key(app, user="dana")
    admin = make_key(app, user="root")
    assert client.get("/api/collections", headers=bearer(key)).status_code == 200
    changed = client.patch("/api/users/dana", json={"disabled": True}, headers=bearer(admin))
    assert changed.status_code == 200 and changed.json()["disabled"] is True
    assert client.get("/api/collections", headers=bearer(key)).status_code == 401


def test_the_openai_client_works_with_a_key(app: FastAPI, client: TestClient) -> None:
    """The official SDK sends ``Authorization: Bearer <api_key>``."""
    openai = pytest.importorskip("openai")
    key = make_key(app, role="viewer")
    sdk = openai.OpenAI(base_url="http://testserver/v1", api_key=key, http_client=client)
    assert isinstance(sdk.models.list().data, list)
    wrong = openai.OpenAI(base_url="http://testserver/v1", api_key="aih_wrong", http_client=client)
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()


def test_bad_input_for_users_and_keys_is_422(app: FastAPI, client: TestClient) -> None:
    admin = bearer(make_key(app, role="admin"))
    for body in (
        {"username": "bad\x00name", "password": "long enough password"},
        {"username": "tab\tname", "password": "long enough password"},
        {"username": "fine", "password": "x" * 257},
        {"username": "fine", "password": "short"},
        {"username": "fine", "password": "long enough password", "role": "nope"},
    ):
        response = client.post("/api/users", json=body, headers=admin)
        assert response.status_code == 422, (body, response.text)
    assert client.post("/api/keys", json={"name": "k"}, headers=admin).status_code == 422
    bad_role = {"name": "bad", "permissions": ["no:such"]}
    assert client.post("/api/roles", json=bad_role, headers=admin).status_code == 422
    made = client.post(
        "/api/users", json={"username": "kim", "password": "long enough pw"}, headers=admin
    )
    assert made.status_code == 201 and made.json()["role"] == "viewer"
    again = client.post(
        "/api/users", json={"username": "kim", "password": "long enough pw"}, headers=admin
    )
    assert again.status_code == 409


def test_the_last_admin_cannot_be_demoted(app: FastAPI, client: TestClient) -> None:
    make_user(app, "only", "admin")
    admin = bearer(make_key(app, user="only"))
    response = client.patch("/api/users/only", json={"role": "viewer"}, headers=admin)
    assert response.status_code == 409
