"""GET /api/events: what the platform itself did (starts, stops, migrations)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from aiharness.api_errors import error_responses
from aiharness.deps import CurrentPrincipal, Offset, RowId, SessionDep
from aiharness.errors import NotFound
from aiharness.events import service
from aiharness.events.schemas import EventPage, EventPublic

router = APIRouter(prefix="/api/events", tags=["events"], responses=error_responses(404, 422))


@router.get("", summary="List platform events, newest first")
def list_events(
    session: SessionDep,
    _principal: CurrentPrincipal,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> EventPage:
    return service.list_events(session=session, kind=kind, limit=limit, offset=offset)


@router.get("/{event_id}", summary="One platform event")
def get_event(event_id: RowId, session: SessionDep, _principal: CurrentPrincipal) -> EventPublic:
    event = service.get_event(session=session, event_id=event_id)
    if event is None:
        raise NotFound(f"event {event_id} does not exist")
    return event
