"""Admin → Audit: the Admin landing page lists the sections pages modules declare, the Audit page
shows and filters the log in English and Korean, and needs admin:audit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from aiharness.app import create_app
from aiharness.audit import record
from aiharness.db.engine import session_scope
from aiharness.features import FEATURES, make_settings
from aiharness.observability.context import Actor
from aiharness.platform import Platform
from aiharness.principal import LOCAL_PRINCIPAL, Principal

pytestmark = pytest.mark.integration
HTML = {"accept": "text/html"}


def _platform(client: TestClient) -> Platform:
    platform: Platform = client.app.state.platform  # type: ignore[attr-defined]
    return platform


def _seed(client: TestClient) -> None:
    with session_scope(_platform(client).session_factory) as session:
        record(
            session,
            action="knowledge.upload",
            target="document:7",
            actor=Actor(id="u-kim", name="kim"),
            details={"file_name": "펌프 매뉴얼.pdf"},
        )
        record(
            session,
            action="access.login",
            target="user:lee",
            result="denied",
            actor=Actor(id="anonymous", name="anonymous"),
        )


def test_the_admin_page_lists_its_sections(client: TestClient) -> None:
    page = client.get("/admin", headers=HTML)
    assert page.status_code == 200
    assert 'href="/admin/audit"' in page.text and "Audit log" in page.text
    assert "data-placeholder" not in page.text
    korean = client.get("/admin?lang=ko", headers=HTML).text
    assert "감사 로그" in korean and "관리자" in korean


def test_the_audit_page_shows_and_filters_entries(client: TestClient) -> None:
    _seed(client)
    page = client.get("/admin/audit", headers=HTML)
    assert page.status_code == 200
    assert "kim" in page.text and "펌프 매뉴얼.pdf" in page.text and "access.login" in page.text
    denied = client.get("/admin/audit", params={"result": "denied"}, headers=HTML).text
    assert "user:lee" in denied and "document:7" not in denied
    by_action = client.get("/admin/audit", params={"action": "knowledge.*"}, headers=HTML).text
    assert "knowledge.upload" in by_action and "user:lee" not in by_action
    recent = client.get("/admin/audit", params={"period": "1h"}, headers=HTML).text
    assert "document:7" in recent
    korean = client.get("/admin/audit?lang=ko", headers=HTML).text
    assert "감사 로그" in korean and "거부" in korean
    nothing = client.get(
        "/admin/audit", params={"actor": "nobody", "lang": "en"}, headers=HTML
    ).text
    assert "No audit entries match" in nothing


def test_bad_filters_are_a_page_error_not_a_500(client: TestClient) -> None:
    response = client.get("/admin/audit", params={"result": "maybe"}, headers=HTML)
    assert response.status_code == 422
    assert "text/html" in response.headers["content-type"]


class ViewerResolver:
    """A signed-in viewer (no admin:audit) when X-Test-User is sent, else the open principal."""

    async def resolve(self, request: Request) -> Principal:
        if request.headers.get("x-test-user"):
            return Principal(
                id="viewer",
                name="viewer",
                authenticated=True,
                via="key",
                permissions=frozenset({"knowledge:read"}),
            )
        return LOCAL_PRINCIPAL


@pytest.fixture
def with_viewer(tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(
        data_dir=tmp_path / "data", jobs={"worker_enabled": False}, log_format="json"
    )
    app = create_app(settings, features=tuple(f for f in FEATURES if f.name != "access"))
    app.state.platform.use_principal_resolver(ViewerResolver())
    with TestClient(app) as client:
        yield client


def test_reading_the_log_needs_admin_audit(with_viewer: TestClient) -> None:
    viewer = {"x-test-user": "viewer"}
    assert with_viewer.get("/api/audit", headers=viewer).status_code == 403
    assert with_viewer.get("/admin/audit", headers={**HTML, **viewer}).status_code == 403
    assert with_viewer.get("/api/audit").status_code == 200  # the open local principal


def test_changes_made_in_the_ui_are_audited_with_their_request(client: TestClient) -> None:
    hx = {"hx-request": "true", **HTML}
    created = client.post("/ui/knowledge/collections", data={"name": "ui-made"}, headers=hx)
    assert created.status_code in (200, 201, 204, 303), created.text
    upload = client.post(
        "/ui/knowledge/ui-made/upload",
        files=[("files", ("valve.txt", b"Valve check: seals yearly.", "text/plain"))],
        headers=hx,
    )
    assert upload.status_code == 200, upload.text
    rows = client.get("/api/audit", params={"target": "*"}).json()["items"]
    assert [r["action"] for r in rows] == ["knowledge.upload", "knowledge.collection.create"]
    assert rows[0]["request_id"] == upload.headers["x-request-id"]
    assert rows[1]["request_id"] == created.headers["x-request-id"]
