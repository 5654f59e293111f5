"""GET /api/audit: the audit log, newest first, with filters and paging (admin:audit)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from aiharness.api_errors import error_responses
from aiharness.audit import service
from aiharness.audit.schemas import AuditPage, AuditResultName
from aiharness.deps import Offset, SessionDep

# Reading needs admin:audit, declared in the feature description (applied by the app factory).
router = APIRouter(tags=["audit"], responses=error_responses(401, 403, 422))

Pattern = Annotated[
    str | None,
    Query(max_length=200, description="Exact value, or a prefix when it ends with `*`."),
]


@router.get("/api/audit", summary="List audit log entries, newest first")
def list_audit(
    session: SessionDep,
    actor: Annotated[
        str | None, Query(max_length=200, description="Actor id or name (exact).")
    ] = None,
    action: Pattern = None,
    target: Pattern = None,
    result: AuditResultName | None = None,
    since: Annotated[datetime | None, Query(description="From this time (inclusive).")] = None,
    until: Annotated[datetime | None, Query(description="Before this time.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> AuditPage:
    return service.list_entries(
        session=session,
        actor=actor,
        action=action,
        target=target,
        result=result,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
