"""ORM table of the gateway: one usage record per request."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aiharness.db.base import Base, UTCDateTime, utcnow


class GatewayUsage(Base):
    __tablename__ = "gateway_usage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    caller: Mapped[str | None] = mapped_column(String(128), nullable=True)
    endpoint: Mapped[str] = mapped_column(String(32))  # chat, embeddings
    alias: Mapped[str] = mapped_column(String(128), index=True)
    backend: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    model: Mapped[str | None] = mapped_column(String(256), nullable=True)
    stream: Mapped[bool] = mapped_column(Boolean, default=False)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    # True when the backend reported the counts; False when the gateway estimated them.
    tokens_from_backend: Mapped[bool] = mapped_column(Boolean, default=False)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    ttft_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    # ok, error, unavailable, cancelled (the client went away), invalid.
    status: Mapped[str] = mapped_column(String(16), index=True)
    failovers: Mapped[int] = mapped_column(Integer, default=0)
    # Backends tried, in order ("a>b"); a mid-stream switch shows as "a>>b".
    route: Mapped[str] = mapped_column(String(512), default="")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
