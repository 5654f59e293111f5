"""Record and list platform events. Plain functions over a Session: no HTTP here."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aiharness.events.models import Event
from aiharness.events.schemas import EventCreate, EventPage, EventPublic


def record_event(*, session: Session, event_in: EventCreate) -> EventPublic:
    event = Event(**event_in.model_dump())
    session.add(event)
    session.flush()
    return EventPublic.model_validate(event)


def list_events(
    *, session: Session, kind: str | None = None, limit: int = 50, offset: int = 0
) -> EventPage:
    """Newest first."""
    query = select(Event)
    count = select(func.count()).select_from(Event)
    if kind:
        query = query.where(Event.kind == kind)
        count = count.where(Event.kind == kind)
    rows = session.scalars(
        query.order_by(Event.created_at.desc(), Event.id.desc()).limit(limit).offset(offset)
    ).all()
    return EventPage(
        items=[EventPublic.model_validate(row) for row in rows],
        total=session.scalar(count) or 0,
        limit=limit,
        offset=offset,
    )


def get_event(*, session: Session, event_id: int) -> EventPublic | None:
    row = session.get(Event, event_id)
    return EventPublic.model_validate(row) if row else None
