"""ORM tables of the assistant: chat sessions and messages, answers with their trace, feedback."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aiharness.db.base import Base, UTCDateTime, utcnow


class ChatSession(Base):
    __tablename__ = "chat_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex
    owner: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class ChatMessage(Base):
    __tablename__ = "chat_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("chat_sessions.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))  # user, assistant
    content: Mapped[str] = mapped_column(Text)
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The answer this assistant message is (no foreign key: answers outlive their session).
    answer_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Answer(Base):
    """One answer with its full trace: what was asked, searched, shown and generated."""

    __tablename__ = "answers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    owner: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    session_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    question: Mapped[str] = mapped_column(Text)
    search_query: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    collections: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    answer: Mapped[str] = mapped_column(Text)
    generator: Mapped[str] = mapped_column(String(16))  # llm, extractive
    refused: Mapped[bool] = mapped_column(Boolean, default=False)
    model: Mapped[str | None] = mapped_column(String(256), nullable=True)
    backend: Mapped[str | None] = mapped_column(String(128), nullable=True)
    retrieval_mode: Mapped[str] = mapped_column(String(16))
    fallback_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The messages sent to the model (None for extractive answers).
    prompt: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    # Every retrieved chunk: {chunk_id, score, n} (n is None when packing dropped it).
    retrieved: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Every passage given to the generator, with its text, as the reader saw it.
    passages: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    cited: Mapped[list[int]] = mapped_column(JSON, default=list)
    maybe_related: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    completion_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    retrieval_ms: Mapped[float] = mapped_column(Float, default=0.0)
    generation_ms: Mapped[float] = mapped_column(Float, default=0.0)
    total_ms: Mapped[float] = mapped_column(Float, default=0.0)
    ttft_ms: Mapped[float | None] = mapped_column(Float, nullable=True)


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    answer_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("answers.id", ondelete="CASCADE"), index=True
    )
    owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    rating: Mapped[str] = mapped_column(String(8), index=True)  # up, down
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    corrected_answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
