"""How a feature's declarations become each route's permission, and ``require`` overrides."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient

from aiharness.api_errors import install_error_handlers
from aiharness.feature import Feature
from aiharness.principal import LOCAL_PRINCIPAL, Principal, mount_router, require

pytestmark = pytest.mark.unit

NOTES = Feature(
    name="notes",
    read_permission="notes:read",
    write_permission="notes:write",
    route_permissions={
        "/api/notes/public": "@public",
        "POST /api/notes/share": "notes:share",
        "/api/notes/*/comments": "notes:comment",
        "/api/notes/*/comments/moderate": "notes:moderate",
    },
)


@pytest.mark.parametrize(
    ("path", "methods", "expected"),
    [
        ("/api/notes", {"GET", "HEAD"}, "notes:read"),
        ("/api/notes", {"POST"}, "notes:write"),
        ("/api/notes/public", {"GET"}, "@public"),
        ("/api/notes/public/x", {"DELETE"}, "@public"),
        ("/api/notes/publicity", {"GET"}, "notes:read"),  # a prefix is a whole segment
        ("/api/notes/share", {"POST"}, "notes:share"),
        ("/api/notes/share", {"GET"}, "notes:read"),  # the override names POST only
        ("/api/notes/{id}/comments", {"POST"}, "notes:comment"),
        ("/api/notes/{id}/comments/moderate", {"POST"}, "notes:moderate"),  # longest wins
    ],
)
def test_permission_for(path: str, methods: set[str], expected: str) -> None:
    assert NOTES.permission_for(path, methods) == expected


class _Resolver:
    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    async def resolve(self, _request: object) -> Principal:
        return self.principal


def test_require_beats_the_default_and_is_enforced() -> None:
    router = APIRouter()

    @router.post("/api/notes/purge", dependencies=[Depends(require("notes:purge"))])
    def purge() -> dict[str, str]:
        return {"purged": "yes"}

    app = FastAPI()
    install_error_handlers(app)
    writer = Principal(
        id="u", name="writer", authenticated=True, permissions=frozenset({"notes:write"}), via="key"
    )

    class _Platform:
        principal_resolver = _Resolver(writer)

    app.state.platform = _Platform()
    mount_router(app, router, NOTES.permission_for)
    assert app.state.route_permissions["/api/notes/purge"]["POST"] == "notes:purge"
    with TestClient(app) as client:
        refused = client.post("/api/notes/purge")
        assert refused.status_code == 403
        assert "notes:purge" in refused.json()["error"]["message"]
    app.state.platform.principal_resolver = _Resolver(LOCAL_PRINCIPAL)
    with TestClient(app) as client:
        assert client.post("/api/notes/purge").json() == {"purged": "yes"}
