"""API shapes of the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AuditResultName = Literal["ok", "denied", "failed"]


class AuditEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_id: str = Field(description="The user, key or process that acted (`cli:<user>`).")
    actor_name: str
    action: str = Field(description="What was done, e.g. `knowledge.upload`, `jobs.cancel`.")
    target: str = Field(description="What it was done to, e.g. `collection:manuals`.")
    result: AuditResultName
    request_id: str | None = Field(description="The X-Request-ID of the HTTP request, if any.")
    client_address: str | None
    details: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEntryPublic]
    total: int
    limit: int
    offset: int
