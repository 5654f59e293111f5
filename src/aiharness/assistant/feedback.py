"""Feedback on answers, and the answers' records for operators (list and full trace)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aiharness.assistant.models import Answer, Feedback
from aiharness.assistant.schemas import (
    AnswerPage,
    AnswerSummary,
    AnswerTrace,
    FeedbackCreate,
    FeedbackItem,
    FeedbackPage,
    FeedbackPublic,
    Rating,
    RetrievedChunk,
    Source,
    Timings,
)
from aiharness.errors import NotFound

# Operators' permission: every answer's record and trace, and rating any answer.
ANSWERS_PERMISSION = "assistant:answers"


def get_answer(*, session: Session, answer_id: str) -> Answer:
    answer = session.get(Answer, answer_id)
    if answer is None:
        raise NotFound(f"answer {answer_id!r} does not exist", code="answer_not_found")
    return answer


def _public(row: Feedback) -> FeedbackPublic:
    return FeedbackPublic(
        id=row.id,
        answer_id=row.answer_id,
        rating="up" if row.rating == "up" else "down",
        comment=row.comment,
        corrected_answer=row.corrected_answer,
        created_at=row.created_at,
    )


def add_feedback(
    *,
    session: Session,
    answer_id: str,
    feedback_in: FeedbackCreate,
    owner: str | None,
    any_answer: bool = False,
) -> FeedbackPublic:
    """Feedback on one of the caller's own answers (``any_answer``: operators rate any)."""
    answer = get_answer(session=session, answer_id=answer_id)
    if not any_answer and answer.owner != owner:
        raise NotFound(f"answer {answer_id!r} does not exist", code="answer_not_found")
    comment = (feedback_in.comment or "").strip() or None
    corrected = (feedback_in.corrected_answer or "").strip() or None
    row = Feedback(
        answer_id=answer.id,
        owner=owner,
        rating=feedback_in.rating,
        comment=comment,
        corrected_answer=corrected,
    )
    session.add(row)
    session.flush()
    return _public(row)


def ratings_allowed(min_rating: Rating | None) -> tuple[str, ...]:
    """``up`` keeps only thumbs-up feedback; ``down`` (the lowest) or none keeps both."""
    return ("up",) if min_rating == "up" else ("up", "down")


def list_feedback(
    *,
    session: Session,
    rating: Rating | None = None,
    since: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> FeedbackPage:
    query = select(Feedback, Answer).join(Answer, Answer.id == Feedback.answer_id)
    count = select(func.count()).select_from(Feedback)
    if rating is not None:
        query = query.where(Feedback.rating == rating)
        count = count.where(Feedback.rating == rating)
    if since is not None:
        query = query.where(Feedback.created_at >= since)
        count = count.where(Feedback.created_at >= since)
    rows = session.execute(
        query.order_by(Feedback.created_at.desc(), Feedback.id.desc()).limit(limit).offset(offset)
    ).all()
    items = [
        FeedbackItem(
            **_public(fb).model_dump(),
            question=answer.question,
            answer=answer.answer,
            generator=answer.generator,
            model=answer.model,
        )
        for fb, answer in rows
    ]
    return FeedbackPage(items=items, total=int(session.scalar(count) or 0))


def list_answers(
    *, session: Session, limit: int = 50, offset: int = 0, session_id: str | None = None
) -> AnswerPage:
    query = select(Answer)
    count = select(func.count()).select_from(Answer)
    if session_id is not None:
        query = query.where(Answer.session_id == session_id)
        count = count.where(Answer.session_id == session_id)
    rows = session.scalars(
        query.order_by(Answer.created_at.desc(), Answer.id).limit(limit).offset(offset)
    ).all()
    ratings: dict[str, Counter[str]] = {r.id: Counter() for r in rows}
    if rows:
        for answer_id, rating, n in session.execute(
            select(Feedback.answer_id, Feedback.rating, func.count())
            .where(Feedback.answer_id.in_(list(ratings)))
            .group_by(Feedback.answer_id, Feedback.rating)
        ).all():
            ratings[answer_id][rating] = int(n)
    items = [
        AnswerSummary(
            answer_id=r.id,
            question=r.question,
            answer=r.answer,
            generator=r.generator,
            refused=r.refused,
            model=r.model,
            session_id=r.session_id,
            total_ms=r.total_ms,
            created_at=r.created_at,
            ratings={"up": ratings[r.id]["up"], "down": ratings[r.id]["down"]},
        )
        for r in rows
    ]
    return AnswerPage(items=items, total=int(session.scalar(count) or 0))


def trace(*, session: Session, answer_id: str) -> AnswerTrace:
    """Everything recorded about one answer."""
    row = get_answer(session=session, answer_id=answer_id)
    passages = [Source.model_validate(p) for p in row.passages or []]
    cited = set(row.cited or [])
    feedback = session.scalars(
        select(Feedback).where(Feedback.answer_id == row.id).order_by(Feedback.id)
    ).all()
    return AnswerTrace(
        answer_id=row.id,
        question=row.question,
        search_query=row.search_query,
        language=row.language,
        collections=row.collections,
        answer=row.answer,
        generator=row.generator,
        model=row.model,
        backend=row.backend,
        refused=row.refused,
        fallback_reason=row.fallback_reason,
        retrieval_mode=row.retrieval_mode,
        prompt=row.prompt,
        retrieved=[RetrievedChunk.model_validate(r) for r in row.retrieved or []],
        passages=passages,
        sources=[p for p in passages if p.n in cited],
        maybe_related=[Source.model_validate(p) for p in row.maybe_related or []],
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        timings=Timings(
            retrieval_ms=row.retrieval_ms,
            generation_ms=row.generation_ms,
            total_ms=row.total_ms,
            ttft_ms=row.ttft_ms,
        ),
        session_id=row.session_id,
        created_at=row.created_at,
        feedback=[_public(f) for f in feedback],
    )
