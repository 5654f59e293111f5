"""The same repository tests on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import IntegrityError

from aiharness.db import migrate
from aiharness.db.engine import create_session_factory, session_scope
from aiharness.events import service
from aiharness.events.models import Event
from aiharness.events.schemas import EventCreate

pytestmark = pytest.mark.integration


def test_schema_is_at_head(db_engine: Engine) -> None:
    assert migrate.revision_state(db_engine).at_head
    assert "events" in inspect(db_engine).get_table_names()


def test_record_and_list_newest_first(db_engine: Engine) -> None:
    factory = create_session_factory(db_engine)
    with session_scope(factory) as session:
        for i in range(3):
            service.record_event(
                session=session,
                event_in=EventCreate(
                    kind="test.kind", message=f"m{i}", details={"i": i, "ko": "정비"}
                ),
            )
        service.record_event(session=session, event_in=EventCreate(kind="other", message="x"))
    with session_scope(factory) as session:
        page = service.list_events(session=session, kind="test.kind", limit=2)
        assert page.total == 3
        assert [e.message for e in page.items] == ["m2", "m1"]
        assert page.items[0].details == {"i": 2, "ko": "정비"}
        assert page.items[0].created_at.tzinfo is not None
        everything = service.list_events(session=session, limit=10, offset=1)
        assert everything.total == 4
        assert len(everything.items) == 3


def test_get_missing_event_is_none(db_engine: Engine) -> None:
    with session_scope(create_session_factory(db_engine)) as session:
        assert service.get_event(session=session, event_id=424242) is None


def test_failed_unit_of_work_leaves_nothing_behind(db_engine: Engine) -> None:
    factory = create_session_factory(db_engine)
    with pytest.raises(IntegrityError), session_scope(factory) as session:
        service.record_event(session=session, event_in=EventCreate(kind="kept.out", message="a"))
        session.add(Event(kind="bad", message=None, created_at=datetime.now(UTC)))
        session.flush()
    with session_scope(factory) as session:
        assert service.list_events(session=session).total == 0


def test_naive_datetimes_are_refused(db_engine: Engine) -> None:
    with (
        pytest.raises(Exception, match="naive datetime"),
        session_scope(create_session_factory(db_engine)) as session,
    ):
        session.add(Event(kind="k", message="m", created_at=datetime(2026, 1, 1)))
        session.flush()
