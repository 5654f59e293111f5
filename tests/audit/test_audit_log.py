"""The audit log itself: rows commit or roll back with the change, the table refuses updates
and deletes on both databases, secrets never reach it, who acted comes from the request or the
process, and GET /api/audit filters and pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from aiharness.audit import record, record_now
from aiharness.audit.models import AuditEntry
from aiharness.audit.service import list_entries
from aiharness.db.engine import create_session_factory, session_scope
from aiharness.observability.context import Actor, acting_as, process_actor, set_process_actor
from aiharness.platform import Platform

pytestmark = pytest.mark.integration


@pytest.fixture
def factory(db_engine: Engine) -> sessionmaker[Session]:
    return create_session_factory(db_engine)


def _count(factory: sessionmaker[Session]) -> int:
    with session_scope(factory) as session:
        return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def test_a_row_commits_with_its_change_and_vanishes_with_its_rollback(
    factory: sessionmaker[Session],
) -> None:
    with session_scope(factory) as session:
        record(session, action="test.ok", target="thing:1")
    assert _count(factory) == 1
    with pytest.raises(RuntimeError), session_scope(factory) as session:
        record(session, action="test.rolled_back", target="thing:2")
        session.flush()
        raise RuntimeError("the change failed")
    assert _count(factory) == 1
    record_now(factory, action="test.failed", target="thing:2", result="failed")
    with session_scope(factory) as session:
        page = list_entries(session=session)
    assert [e.action for e in page.items] == ["test.failed", "test.ok"]
    assert [e.result for e in page.items] == ["failed", "ok"]


def test_the_table_refuses_updates_and_deletes(
    factory: sessionmaker[Session], db_engine: Engine
) -> None:
    with session_scope(factory) as session:
        record(session, action="test.kept", target="thing:1")
    for statement in (
        "UPDATE audit_log SET result = 'denied'",
        "DELETE FROM audit_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"), db_engine.begin() as conn:
            conn.execute(text(statement))
    if db_engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), db_engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_log"))
    with session_scope(factory) as session:
        entry = session.scalars(select(AuditEntry)).one()
        assert (entry.action, entry.result) == ("test.kept", "ok")


def test_secrets_in_details_are_masked(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as session:
        record(
            session,
            action="test.secret",
            target="key:1",
            details={
                "password": "hunter2-long",
                "note": "created with Bearer abcdefghijklmnop and aih_0123456789abcdefXYZ",
                "api_key": "aih_secretsecretsecret",
                "name": "ops",
            },
        )
    with session_scope(factory) as session:
        details = session.scalars(select(AuditEntry.details)).one()
    flat = repr(details)
    assert "hunter2" not in flat and "abcdefghijklmnop" not in flat and "aih_" not in flat
    assert details["name"] == "ops"


def test_who_acted_comes_from_the_explicit_actor_then_the_process(
    factory: sessionmaker[Session],
) -> None:
    before = process_actor()
    try:
        set_process_actor(Actor(id="cli:tester", name="cli:tester"))
        with session_scope(factory) as session:
            record(session, action="test.process", target="x")
            with acting_as(Actor(id="u1", name="kim")):
                record(session, action="test.explicit", target="x")
    finally:
        set_process_actor(before)
    with session_scope(factory) as session:
        rows = session.execute(
            select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.actor_name).order_by(
                AuditEntry.id
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("test.process", "cli:tester", "cli:tester"),
        ("test.explicit", "u1", "kim"),
    ]


def test_a_bad_result_name_is_refused(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as session, pytest.raises(ValueError, match="result"):
        record(session, action="x", target="y", result="maybe")  # type: ignore[arg-type]


# -- the API ------------------------------------------------------------------------------------
def _platform(client: TestClient) -> Platform:
    platform: Platform = client.app.state.platform  # type: ignore[attr-defined]
    return platform


@pytest.fixture
def audited(client: TestClient) -> TestClient:
    factory = _platform(client).session_factory
    with session_scope(factory) as session:
        for n in range(5):
            record(
                session,
                action="knowledge.upload" if n % 2 else "jobs.cancel",
                target=f"document:{n}",
                actor=Actor(id=f"user{n % 2}", name=f"name{n % 2}"),
                result="ok" if n != 4 else "failed",
            )
    return client


def test_the_api_lists_newest_first_with_filters_and_paging(audited: TestClient) -> None:
    body = audited.get("/api/audit").json()
    assert body["total"] == 5 and body["limit"] == 50 and body["offset"] == 0
    assert [e["target"] for e in body["items"]] == [f"document:{n}" for n in (4, 3, 2, 1, 0)]
    page = audited.get("/api/audit", params={"limit": 2, "offset": 2}).json()
    assert [e["target"] for e in page["items"]] == ["document:2", "document:1"]
    assert audited.get("/api/audit", params={"action": "jobs.cancel"}).json()["total"] == 3
    assert audited.get("/api/audit", params={"action": "knowledge.*"}).json()["total"] == 2
    assert audited.get("/api/audit", params={"actor": "name1"}).json()["total"] == 2
    assert audited.get("/api/audit", params={"result": "failed"}).json()["total"] == 1
    assert audited.get("/api/audit", params={"target": "document:3"}).json()["total"] == 1
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert audited.get("/api/audit", params={"since": future}).json()["total"] == 0
    assert audited.get("/api/audit", params={"until": future}).json()["total"] == 5


def test_the_api_request_is_its_own_actor_and_request_id(client: TestClient) -> None:
    response = client.post("/api/collections", json={"name": "audited"})
    assert response.status_code == 201, response.text
    entry = client.get("/api/audit", params={"action": "knowledge.collection.create"}).json()
    item = entry["items"][0]
    assert item["target"] == "collection:audited"
    assert item["request_id"] == response.headers["x-request-id"]
    assert item["client_address"] == "testclient"
    assert item["actor_id"] == "local"


@pytest.mark.parametrize(
    "params",
    [
        {"result": "maybe"},
        {"since": "yesterday"},
        {"since": "2026-01-01T00:00:00"},
        {"limit": 0},
        {"limit": 501},
        {"offset": -1},
        {"action": "x" * 201},
    ],
)
def test_bad_filters_are_a_422(client: TestClient, params: dict[str, str | int]) -> None:
    response = client.get("/api/audit", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"]
