"""Chat sessions: create, list, show (with messages), rename, delete.

A conversation belongs to whoever started it (``owner``, the caller's principal id): another
caller, whatever their role, neither lists it nor opens it (not found, rather than forbidden,
so its existence is not told either)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aiharness.assistant.models import ChatMessage, ChatSession
from aiharness.assistant.schemas import (
    MessagePublic,
    SessionDetail,
    SessionPage,
    SessionPublic,
    Source,
)
from aiharness.db.base import utcnow
from aiharness.errors import NotFound


def _count(session: Session, session_id: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(ChatMessage)
            .where(ChatMessage.session_id == session_id)
        )
        or 0
    )


def _public(chat: ChatSession, count: int) -> SessionPublic:
    return SessionPublic(
        id=chat.id,
        title=chat.title,
        created_at=chat.created_at,
        updated_at=chat.updated_at,
        message_count=count,
    )


def get_session(*, session: Session, session_id: str, owner: str | None) -> ChatSession:
    chat = session.get(ChatSession, session_id)
    if chat is None or chat.owner != owner:
        raise NotFound(f"chat session {session_id!r} does not exist", code="session_not_found")
    return chat


def create_session(*, session: Session, title: str | None, owner: str | None) -> SessionPublic:
    now = utcnow()
    chat = ChatSession(
        id=uuid.uuid4().hex,
        owner=owner,
        title=" ".join((title or "").split()),
        created_at=now,
        updated_at=now,
    )
    session.add(chat)
    session.flush()
    return _public(chat, 0)


def list_sessions(
    *, session: Session, owner: str | None, limit: int = 50, offset: int = 0
) -> SessionPage:
    mine = ChatSession.owner.is_(None) if owner is None else ChatSession.owner == owner
    total = int(session.scalar(select(func.count()).select_from(ChatSession).where(mine)) or 0)
    counts = (
        select(ChatMessage.session_id, func.count().label("n"))
        .group_by(ChatMessage.session_id)
        .subquery()
    )
    rows = session.execute(
        select(ChatSession, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.session_id == ChatSession.id)
        .where(mine)
        .order_by(ChatSession.updated_at.desc(), ChatSession.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return SessionPage(items=[_public(chat, int(n)) for chat, n in rows], total=total)


def show_session(*, session: Session, session_id: str, owner: str | None) -> SessionDetail:
    chat = get_session(session=session, session_id=session_id, owner=owner)
    messages = session.scalars(
        select(ChatMessage).where(ChatMessage.session_id == chat.id).order_by(ChatMessage.id)
    ).all()
    return SessionDetail(
        **_public(chat, len(messages)).model_dump(),
        messages=[
            MessagePublic(
                id=m.id,
                role="user" if m.role == "user" else "assistant",
                content=m.content,
                sources=[Source.model_validate(s) for s in m.sources or []],
                answer_id=m.answer_id,
                created_at=m.created_at,
            )
            for m in messages
        ],
    )


def rename_session(
    *, session: Session, session_id: str, title: str, owner: str | None
) -> SessionPublic:
    chat = get_session(session=session, session_id=session_id, owner=owner)
    chat.title = " ".join(title.split())
    chat.updated_at = utcnow()
    session.flush()
    return _public(chat, _count(session, chat.id))


def delete_session(*, session: Session, session_id: str, owner: str | None) -> None:
    """The session and its messages; its answers (and their feedback) stay for the trace."""
    chat = get_session(session=session, session_id=session_id, owner=owner)
    session.query(ChatMessage).filter(ChatMessage.session_id == chat.id).delete()
    session.delete(chat)
    session.flush()
