"""Web sign-in: cookie flags, a new session on every sign-in (no fixation), sign-out, forged and
replayed cookies, CSRF on forms and HTMX, cross-site refusal, lock-out, password change."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from aiharness.access.runtime import SESSION_COOKIE
from aiharness.access.settings import AccessSettings
from aiharness.config import Settings
from tests.access.conftest import PASSWORD, make_user, sign_in

pytestmark = pytest.mark.integration


def test_sign_in_sets_a_safe_cookie_and_opens_the_pages(app: FastAPI, client: TestClient) -> None:
    make_user(app, "ana", "operator")
    assert client.get("/knowledge", follow_redirects=False).headers["location"] == (
        "/login?next=%2Fknowledge"
    )
    response = client.post(
        "/login",
        data={"username": "ana", "password": PASSWORD, "next": "/knowledge"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/knowledge"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    page = client.get("/knowledge")
    assert page.status_code == 200 and "ana" in page.text
    with app.state.platform.engine.connect() as conn:
        stored = " ".join(str(r) for r in conn.execute(text("SELECT * FROM access_sessions")))
    assert client.cookies[SESSION_COOKIE] not in stored


def test_cookie_is_secure_over_https(app: FastAPI) -> None:
    make_user(app, "sam", "viewer")
    with TestClient(app, base_url="https://testserver") as secure:
        response = secure.post(
            "/login", data={"username": "sam", "password": PASSWORD}, follow_redirects=False
        )
        assert "secure" in response.headers["set-cookie"].lower()


def test_next_never_leaves_the_site(app: FastAPI, client: TestClient) -> None:
    make_user(app, "ned", "viewer")
    for target in ("//evil.example/x", "https://evil.example", "/\\evil.example"):
        response = client.post(
            "/login",
            data={"username": "ned", "password": PASSWORD, "next": target},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/"


def _token_of(response: object) -> str:
    header: str = getattr(response, "headers", {})["set-cookie"]
    name, _, rest = header.partition("=")
    assert name == SESSION_COOKIE
    return rest.split(";", 1)[0]


def test_no_session_fixation_and_logout_ends_the_session(app: FastAPI) -> None:
    make_user(app, "fay", "viewer")
    form = {"username": "fay", "password": PASSWORD}
    planted = TestClient(app, cookies={SESSION_COOKIE: "planted-by-an-attacker"})
    first = _token_of(planted.post("/login", data=form, follow_redirects=False))
    assert first != "planted-by-an-attacker"
    # Signing in again with the first cookie replaces that session: it stops working.
    again = TestClient(app, cookies={SESSION_COOKIE: first})
    second = _token_of(again.post("/login", data=form, follow_redirects=False))
    assert second != first
    assert TestClient(app, cookies={SESSION_COOKIE: first}).get("/api/auth/me").status_code == 401
    browser = TestClient(app, cookies={SESSION_COOKIE: second})
    assert browser.get("/api/auth/me").json()["name"] == "fay"
    page = browser.get("/")
    csrf = page.text.split('data-csrf="', 1)[1].split('"', 1)[0]
    out = browser.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    replay = TestClient(app, cookies={SESSION_COOKIE: second})
    assert replay.get("/knowledge", follow_redirects=False).status_code == 303
    assert replay.get("/api/collections").status_code == 401


def test_forged_cookie_is_signed_out(app: FastAPI) -> None:
    for forged in ("x", "A" * 43, "A" * 500, "%C3%A9", '"quoted"'):
        browser = TestClient(app, cookies={SESSION_COOKIE: forged})
        assert browser.get("/api/collections").status_code == 401
        assert browser.get("/", follow_redirects=False).status_code == 303


def test_csrf_is_required_on_forms_and_htmx(app: FastAPI, client: TestClient) -> None:
    make_user(app, "cho", "operator")
    csrf = sign_in(client, "cho")
    create = "/ui/knowledge/collections"
    missing = client.post(create, data={"name": "one"}, headers={"HX-Request": "true"})
    assert "CSRF" in missing.text
    wrong = client.post(
        create, data={"name": "one"}, headers={"HX-Request": "true", "X-CSRF-Token": "nope"}
    )
    assert "CSRF" in wrong.text
    ok = client.post(
        create, data={"name": "one"}, headers={"HX-Request": "true", "X-CSRF-Token": csrf}
    )
    assert ok.headers.get("HX-Redirect") == "/knowledge/one", ok.text
    # The token in a form field works too; the JSON API with a cookie needs the header.
    assert client.post("/api/collections", json={"name": "two"}).status_code == 403
    made = client.post("/api/collections", json={"name": "two"}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    page = client.get("/")
    assert f'hx-headers=\'{{"X-CSRF-Token": "{csrf}"}}\'' in page.text


def test_cross_site_requests_are_refused(app: FastAPI, client: TestClient) -> None:
    make_user(app, "eve", "operator")
    csrf = sign_in(client, "eve")
    headers = {"X-CSRF-Token": csrf, "Origin": "https://evil.example"}
    assert client.post("/api/collections", json={"name": "x"}, headers=headers).status_code == 403
    headers = {"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"}
    assert client.post("/api/collections", json={"name": "x"}, headers=headers).status_code == 403
    login = client.post(
        "/login",
        data={"username": "eve", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert login.status_code == 403


def test_lock_out_after_repeated_failures(
    app: FastAPI, client: TestClient, required_settings: Settings
) -> None:
    make_user(app, "lee", "viewer")
    attempts = AccessSettings.of(required_settings).lockout_attempts
    for _ in range(attempts - 1):
        failed = client.post("/login", data={"username": "lee", "password": "wrong password"})
        assert failed.status_code == 401 and "data-error" in failed.text
    locked = client.post("/login", data={"username": "lee", "password": "wrong password"})
    assert locked.status_code == 401
    assert "Too many" in locked.text
    # Even the right password waits now; another address is not locked.
    right = client.post("/login", data={"username": "lee", "password": PASSWORD})
    assert right.status_code == 401 and "Too many" in right.text
    with TestClient(app, client=("10.0.0.9", 4000)) as other:
        ok = other.post(
            "/login", data={"username": "lee", "password": PASSWORD}, follow_redirects=False
        )
        assert ok.status_code == 303
    with app.state.platform.engine.connect() as conn:
        audited = conn.execute(
            text("SELECT count(*) FROM audit_log WHERE action = 'auth.login' AND result = 'denied'")
        ).scalar()
    assert audited == attempts + 1


def test_over_long_password_and_control_characters(app: FastAPI, client: TestClient) -> None:
    long = client.post("/login", data={"username": "x", "password": "p" * 300})
    assert long.status_code == 422
    weird = client.post("/login", data={"username": "a\x07b", "password": "whatever pw"})
    assert weird.status_code == 401


def test_password_change_ends_other_sessions(app: FastAPI, client: TestClient) -> None:
    make_user(app, "pia", "viewer")
    other = TestClient(app)
    sign_in(other, "pia")
    csrf = sign_in(client, "pia")
    mismatch = client.post(
        "/account/password",
        data={"current": PASSWORD, "new": "a new password", "confirm": "other", "csrf_token": csrf},
    )
    assert mismatch.status_code == 422
    changed = client.post(
        "/account/password",
        data={
            "current": PASSWORD,
            "new": "a new password",
            "confirm": "a new password",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert other.get("/api/auth/me").status_code == 401
    sign_in(client, "pia", "a new password")
