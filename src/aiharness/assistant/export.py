"""Feedback as training data: SFT records, DPO pairs and raw JSONL (schemas in docs/assistant.md).

Which feedback counts: rows created at or after ``since`` (UTC) whose rating is at least
``min_rating`` (``up`` > ``down``: ``up`` keeps thumbs-up only, ``down`` or none keeps both).

- ``sft``: one record per answer and approved text: the corrected answer when feedback gave one,
  else the original answer when it was rated up (a thumbs-down without a correction approves
  nothing). Refusals count too: "the documents do not say" is a behaviour worth teaching.
- ``dpo``: one pair per correction: chosen = the corrected answer, rejected = the original.
- ``jsonl``: every feedback row with its answer's trace, as stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from aiharness.assistant import generation
from aiharness.assistant.feedback import ratings_allowed
from aiharness.assistant.models import Answer, Feedback
from aiharness.assistant.passages import Language, Passage
from aiharness.assistant.schemas import Rating

ExportFormat = Literal["sft", "dpo", "jsonl"]
FORMATS: tuple[ExportFormat, ...] = ("sft", "dpo", "jsonl")
SCHEMA_VERSION = 1


def _passages(answer: Answer) -> list[Passage]:
    return [
        Passage(
            n=int(p["n"]),
            chunk_id=int(p["chunk_id"]),
            document_id=int(p["document_id"]),
            source_path=str(p["source_path"]),
            file_name=str(p["file_name"]),
            page=p.get("page"),
            heading=p.get("heading"),
            score=float(p.get("score") or 0.0),
            text=str(p["text"]),
            collection=str(p.get("collection") or ""),
        )
        for p in answer.passages or []
    ]


def _contexts(answer: Answer) -> list[dict[str, Any]]:
    return [
        {
            "n": p.n,
            "chunk_id": p.chunk_id,
            "document_id": p.document_id,
            "file_name": p.file_name,
            "source_path": p.source_path,
            "page": p.page,
            "heading": p.heading,
            "text": p.text,
        }
        for p in _passages(answer)
    ]


def _prompt(answer: Answer) -> list[dict[str, str]]:
    """The messages the model saw (stored for LLM answers; rebuilt the same way otherwise)."""
    if answer.prompt:
        return [{"role": str(m["role"]), "content": str(m["content"])} for m in answer.prompt]
    from aiharness.assistant.relevance import not_found_text

    language: Language = "ko" if answer.language == "ko" else "en"
    return generation.messages_for(
        answer.search_query, _passages(answer), language, not_found_text(language)
    )


def _rows(
    session: Session, since: datetime | None, min_rating: Rating | None
) -> list[tuple[Feedback, Answer]]:
    query = (
        select(Feedback, Answer)
        .join(Answer, Answer.id == Feedback.answer_id)
        .where(Feedback.rating.in_(ratings_allowed(min_rating)))
        .order_by(Feedback.created_at, Feedback.id)
    )
    if since is not None:
        query = query.where(Feedback.created_at >= since)
    return [(fb, answer) for fb, answer in session.execute(query).all()]


def _base(answer: Answer) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "answer_id": answer.id,
        "question": answer.question,
        "language": answer.language,
        "contexts": _contexts(answer),
        "generator": answer.generator,
        "model": answer.model,
    }


def records(
    *,
    session: Session,
    fmt: ExportFormat,
    since: datetime | None = None,
    min_rating: Rating | None = None,
) -> Iterator[dict[str, Any]]:
    """The export's records, oldest feedback first."""
    seen: set[tuple[str, str]] = set()
    for fb, answer in _rows(session, since, min_rating):
        if fmt == "jsonl":
            yield {
                "schema_version": SCHEMA_VERSION,
                "feedback_id": fb.id,
                "rating": fb.rating,
                "comment": fb.comment,
                "corrected_answer": fb.corrected_answer,
                "feedback_created_at": fb.created_at.isoformat(),
                "answer_id": answer.id,
                "question": answer.question,
                "search_query": answer.search_query,
                "language": answer.language,
                "answer": answer.answer,
                "generator": answer.generator,
                "refused": answer.refused,
                "model": answer.model,
                "backend": answer.backend,
                "fallback_reason": answer.fallback_reason,
                "prompt": answer.prompt,
                "retrieved": answer.retrieved,
                "contexts": _contexts(answer),
                "cited": answer.cited,
                "answer_created_at": answer.created_at.isoformat(),
            }
        elif fmt == "sft":
            if fb.corrected_answer:
                text, origin = fb.corrected_answer, "corrected"
            elif fb.rating == "up":
                text, origin = answer.answer, "original"
            else:
                continue
            if (answer.id, text) in seen:
                continue
            seen.add((answer.id, text))
            yield {
                **_base(answer),
                "messages": [*_prompt(answer), {"role": "assistant", "content": text}],
                "answer": text,
                "answer_origin": origin,
                "rating": fb.rating,
                "feedback_id": fb.id,
                "created_at": fb.created_at.isoformat(),
            }
        else:
            if not fb.corrected_answer or fb.corrected_answer.strip() == answer.answer.strip():
                continue
            if (answer.id, fb.corrected_answer) in seen:
                continue
            seen.add((answer.id, fb.corrected_answer))
            yield {
                **_base(answer),
                "prompt": _prompt(answer),
                "chosen": fb.corrected_answer,
                "rejected": answer.answer,
                "rating": fb.rating,
                "comment": fb.comment,
                "feedback_id": fb.id,
                "created_at": fb.created_at.isoformat(),
            }
