"""Each built-in role (and a custom one) against each class of protected route."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.access.conftest import bearer, make_key, make_user

pytestmark = pytest.mark.integration

# (method, path, body) -> the roles that may call it. Statuses other than 401/403 (404 for a
# missing thing, 422 for a bad body) show the call got past the permission check.
ROUTES: list[tuple[str, str, dict[str, object] | None, set[str]]] = [
    ("GET", "/api/collections", None, {"admin", "operator", "viewer", "reader"}),
    ("POST", "/api/collections", {"name": "c1"}, {"admin", "operator"}),
    ("DELETE", "/api/collections/none", None, {"admin", "operator"}),
    ("GET", "/api/documents", None, {"admin", "operator", "viewer", "reader"}),
    ("GET", "/api/jobs", None, {"admin", "operator", "viewer"}),
    ("POST", "/api/jobs/none/cancel", None, {"admin", "operator"}),
    ("GET", "/api/runs", None, {"admin", "operator", "viewer"}),
    ("POST", "/api/runs", {}, {"admin", "operator"}),
    ("GET", "/api/events", None, {"admin", "operator", "viewer"}),
    ("GET", "/v1/models", None, {"admin", "operator", "viewer"}),
    ("GET", "/api/gateway/status", None, {"admin", "operator", "viewer"}),
    ("POST", "/api/gateway/reload", None, {"admin", "operator"}),
    ("GET", "/api/users", None, {"admin"}),
    ("POST", "/api/keys", {"name": "x", "role": "viewer"}, {"admin"}),
    ("GET", "/api/auth/me", None, {"admin", "operator", "viewer", "reader"}),
    ("GET", "/metrics", None, {"admin", "operator", "viewer"}),
    ("POST", "/api/ask/none/feedback", {}, {"admin", "operator"}),
    ("GET", "/api/feedback", None, {"admin", "operator"}),
    ("GET", "/api/answers", None, {"admin", "operator"}),
    ("POST", "/api/ask", {}, {"admin", "operator", "viewer"}),
    ("GET", "/knowledge", None, {"admin", "operator", "viewer", "reader"}),
    ("POST", "/ui/knowledge/collections", None, {"admin", "operator"}),
]


def refused(response: object) -> bool:
    """403, or the flash an HTMX action answers with (HTMX swaps only 2xx answers)."""
    status = getattr(response, "status_code", 0)
    text = getattr(response, "text", "")
    return status == 403 or (status == 200 and 'class="flash down"' in text and "lacks" in text)


@pytest.fixture
def keys(app: FastAPI, client: TestClient) -> dict[str, str]:
    created = client.post(
        "/api/roles",
        json={"name": "reader", "permissions": ["knowledge:read"]},
        headers=bearer(make_key(app, role="admin", name="setup")),
    )
    assert created.status_code == 201, created.text
    return {
        role: make_key(app, role=role, name=role)
        for role in ("admin", "operator", "viewer", "reader")
    }


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ROUTES)
def test_each_role_against_each_route_class(
    client: TestClient,
    keys: dict[str, str],
    method: str,
    path: str,
    body: dict[str, object] | None,
    allowed: set[str],
) -> None:
    for role, key in keys.items():
        response = client.request(
            method, path, json=body, headers=bearer(key), follow_redirects=False
        )
        if role in allowed:
            assert response.status_code not in (401, 403), (role, response.text)
            assert "lacks" not in response.text
        else:
            assert refused(response), (role, response.status_code, response.text)


def test_a_user_key_acts_with_at_most_the_users_rights(app: FastAPI, client: TestClient) -> None:
    make_user(app, "vera", "viewer")
    narrowed = make_key(app, user="vera", role="operator")  # asks for more than vera has
    assert (
        client.post("/api/collections", json={"name": "x"}, headers=bearer(narrowed)).status_code
        == 403
    )
    me = client.get("/api/auth/me", headers=bearer(narrowed)).json()
    assert "knowledge:write" not in me["permissions"]
    assert me["name"] == "vera (key test)"


def test_the_viewer_cannot_change_anything(app: FastAPI, client: TestClient) -> None:
    """Every non-GET route but asking the assistant and calling the models refuses a viewer."""
    from aiharness.api_errors import iter_routes

    key = make_key(app, role="viewer")
    changed: list[str] = []
    for route in iter_routes(list(app.routes)):
        methods = (getattr(route, "methods", None) or set()) - {"GET", "HEAD"}
        path = getattr(route, "path", "")
        own = ("/login", "/first-run", "/logout", "/account/password")  # their own session
        if not methods or path in own or path.startswith(("/v1/", "/api/ask", "/ask", "/api/chat")):
            continue
        for method in methods:
            url = path.replace("{", "").replace("}", "")
            response = client.request(method, url, headers=bearer(key), follow_redirects=False)
            if not refused(response):
                changed.append(f"{method} {path}: {response.status_code}")
    assert changed == []
