"""API shapes for platform events."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EventLevel = Literal["info", "warning", "error"]


class EventCreate(BaseModel):
    kind: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_.:-]+$")
    message: str = Field(min_length=1, max_length=10_000)
    level: EventLevel = "info"
    actor: str = Field("system", max_length=128)
    details: dict[str, Any] = Field(default_factory=dict)


class EventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    kind: str
    level: EventLevel
    message: str
    actor: str
    details: dict[str, Any]


class EventPage(BaseModel):
    items: list[EventPublic]
    total: int
    limit: int
    offset: int
