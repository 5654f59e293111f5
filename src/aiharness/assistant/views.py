"""Small read functions for the Ask page and the dashboard: feedback counts, and the facts of
many answers at once (a conversation's history shows each answer's generator, model, latency and
"maybe related" passages without loading one full trace per message)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aiharness.assistant.models import Answer, Feedback


@dataclass(frozen=True)
class FeedbackCounts:
    up: int
    down: int
    answers: int


@dataclass(frozen=True)
class AnswerFacts:
    """What the conversation shows under an answer (its meta line and refusal passages)."""

    answer_id: str
    generator: str
    refused: bool
    model: str | None
    fallback_reason: str | None
    total_ms: float
    maybe_related: list[dict[str, Any]] = field(default_factory=list)


def feedback_counts(*, session: Session) -> FeedbackCounts:
    """Thumbs up and down over all answers, and how many answers there are."""
    rows = session.execute(select(Feedback.rating, func.count()).group_by(Feedback.rating)).all()
    by_rating = {str(rating): int(count) for rating, count in rows}
    answers = session.scalar(select(func.count()).select_from(Answer)) or 0
    return FeedbackCounts(
        up=by_rating.get("up", 0), down=by_rating.get("down", 0), answers=int(answers)
    )


def answer_facts(*, session: Session, answer_ids: Iterable[str]) -> dict[str, AnswerFacts]:
    """The facts of each of ``answer_ids`` that exists, by id (one query)."""
    ids = sorted({i for i in answer_ids if i})
    if not ids:
        return {}
    rows = session.execute(
        select(
            Answer.id,
            Answer.generator,
            Answer.refused,
            Answer.model,
            Answer.fallback_reason,
            Answer.total_ms,
            Answer.maybe_related,
        ).where(Answer.id.in_(ids))
    ).all()
    return {
        row.id: AnswerFacts(
            answer_id=row.id,
            generator=row.generator,
            refused=bool(row.refused),
            model=row.model,
            fallback_reason=row.fallback_reason,
            total_ms=float(row.total_ms or 0.0),
            maybe_related=list(row.maybe_related or []),
        )
        for row in rows
    }
