"""Write and read the audit log. ``record`` joins the caller's session, so the row commits or
rolls back with the change it describes; there is deliberately no update or delete here."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Connection, Select, func, insert, or_, select
from sqlalchemy.orm import Session, sessionmaker

from aiharness.audit.models import AuditEntry
from aiharness.audit.schemas import AuditEntryPublic, AuditPage
from aiharness.db.base import utcnow
from aiharness.db.engine import session_scope
from aiharness.errors import Invalid
from aiharness.observability.context import Actor, current_actor, current_request
from aiharness.observability.masking import mask_value

AuditResult = Literal["ok", "denied", "failed"]
RESULTS: tuple[str, ...] = ("ok", "denied", "failed")


def _clip(value: str, size: int) -> str:
    return value if len(value) <= size else value[: size - 1] + "…"


def record(
    session: Session | Connection,
    *,
    action: str,
    target: str,
    result: AuditResult = "ok",
    details: Mapping[str, Any] | None = None,
    actor: Actor | None = None,
) -> AuditEntry:
    """Add one audit row to ``session`` (the change's own transaction).

    Who acted comes from ``actor`` if given, else the request being served (its principal,
    request id and client address), else the process's actor. ``details`` are masked like log
    values: a field named like a secret, a key or a password in text never reaches the table.
    A Core ``Connection`` (a store's own write transaction) gets the row inserted at once."""
    if result not in RESULTS:
        raise ValueError(f"audit result must be one of {RESULTS}, not {result!r}")
    who = actor or current_actor()
    request = current_request.get()
    masked = mask_value(dict(details or {}))
    entry = AuditEntry(
        at=utcnow(),
        actor_id=_clip(who.id, 128),
        actor_name=_clip(who.name, 200),
        action=_clip(action, 64),
        target=_clip(target, 512),
        result=result,
        request_id=request.request_id if request else None,
        client_address=_clip(request.client_address, 64)
        if request and request.client_address
        else None,
        details=masked,
    )
    if isinstance(session, Connection):
        values = {c.name: getattr(entry, c.key) for c in AuditEntry.__table__.columns}
        values.pop("id")
        session.execute(insert(AuditEntry), values)
    else:
        session.add(entry)
    return entry


def record_now(
    session_factory: sessionmaker[Session],
    *,
    action: str,
    target: str,
    result: AuditResult,
    details: Mapping[str, Any] | None = None,
    actor: Actor | None = None,
) -> None:
    """Record in a transaction of its own: for a refusal or a failure whose change was rolled
    back (a failed login, a denied request), which must still leave a row."""
    with session_scope(session_factory) as session:
        record(session, action=action, target=target, result=result, details=details, actor=actor)


def _pattern(column: Any, value: str) -> ColumnElement[bool]:
    """``value`` exactly, or every value starting with it when it ends with ``*``."""
    if value.endswith("*"):
        prefix = value[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return column.like(prefix + "%", escape="\\")  # type: ignore[no-any-return]
    return column == value  # type: ignore[no-any-return]


def _filtered(
    query: Select[Any],
    *,
    actor: str | None,
    action: str | None,
    target: str | None,
    result: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Select[Any]:
    if actor:
        query = query.where(or_(AuditEntry.actor_id == actor, AuditEntry.actor_name == actor))
    if action:
        query = query.where(_pattern(AuditEntry.action, action))
    if target:
        query = query.where(_pattern(AuditEntry.target, target))
    if result:
        query = query.where(AuditEntry.result == result)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    return query


def list_entries(
    *,
    session: Session,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    result: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> AuditPage:
    """Newest first; ``action`` and ``target`` match a prefix when they end with ``*``."""
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise Invalid(f"{name} needs a time zone (e.g. 2026-12-02T09:00:00Z)", code=name)
    if result is not None and result not in RESULTS:
        raise Invalid(f"result must be one of {', '.join(RESULTS)}")
    filters: dict[str, Any] = {
        "actor": actor,
        "action": action,
        "target": target,
        "result": result,
        "since": since,
        "until": until,
    }
    rows = session.scalars(
        _filtered(select(AuditEntry), **filters)
        .order_by(AuditEntry.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    total = session.scalar(_filtered(select(func.count()).select_from(AuditEntry), **filters))
    return AuditPage(
        items=[AuditEntryPublic.model_validate(row) for row in rows],
        total=total or 0,
        limit=limit,
        offset=offset,
    )


def action_names(*, session: Session) -> list[str]:
    """Every action the log holds, for the filter menu of the Audit page."""
    return list(session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))
