"""/api/ask (JSON or server-sent events), answers, feedback, export and chat sessions, plus the
predecessor's /ask and /ask/feedback (hidden from the docs)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import StreamingResponse

from aiharness.api_errors import error_responses
from aiharness.assistant import export, feedback, service, sessions
from aiharness.assistant.deps import AssistantDep
from aiharness.assistant.schemas import (
    AnswerPage,
    AnswerTrace,
    AskRequest,
    AskResponse,
    FeedbackCreate,
    FeedbackPage,
    FeedbackPublic,
    LegacyAskRequest,
    LegacyFeedbackCreate,
    Rating,
    SessionCreate,
    SessionDetail,
    SessionPage,
    SessionPublic,
    SessionUpdate,
)
from aiharness.deps import CurrentPrincipal, Offset, SessionDep

router = APIRouter(tags=["assistant"], responses=error_responses(404, 422))
alias_router = APIRouter(include_in_schema=False)
Limit = Annotated[int, Query(ge=1, le=500, description="Items per page.")]
IdQuery = Annotated[str | None, Query(min_length=1, max_length=64)]
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
_STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The answer (JSON), or with `stream: true` server-sent events: `sources`, "
        "`token` (many), then `done` with the JSON body (or `error`).",
        # Before OpenAPI 3.2 (no itemSchema) the schema of an event stream describes one event.
        "content": {
            "text/event-stream": {
                "schema": {
                    "type": "object",
                    "required": ["event", "data"],
                    "properties": {
                        "event": {"type": "string", "enum": ["sources", "token", "done", "error"]},
                        "data": {"type": "string", "contentMediaType": "application/json"},
                    },
                }
            }
        },
    }
}


def sse_bytes(event: service.AskEvent) -> bytes:
    data = json.dumps(event.data, ensure_ascii=False)
    return f"event: {event.event}\ndata: {data}\n\n".encode()


async def _sse(events: AsyncIterator[service.AskEvent]) -> AsyncIterator[bytes]:
    async for event in events:
        yield sse_bytes(event)


@router.post(
    "/api/ask",
    summary="Ask the documents (answer with cited sources; streaming with `stream: true`)",
    response_model=AskResponse,
    responses=_STREAM_DOC,
)
async def ask(
    ask_in: AskRequest, session: SessionDep, runtime: AssistantDep, principal: CurrentPrincipal
) -> Any:
    checked = service.prepare(
        runtime,
        session=session,
        question=ask_in.question,
        collections=ask_in.collections,
        k=ask_in.k,
        session_id=ask_in.session_id,
        model=ask_in.model,
        owner=principal.id,
        allowed_collections=principal.collections,
        allowed_models=principal.models,
    )
    if ask_in.stream:
        return StreamingResponse(
            _sse(service.stream(runtime, checked)),
            media_type="text/event-stream",
            headers=SSE_HEADERS,
        )
    return await service.ask(runtime, session=session, ask_in=checked)


async def _legacy_ask(
    ask_in: LegacyAskRequest,
    session: SessionDep,
    runtime: AssistantDep,
    principal: CurrentPrincipal,
) -> AskResponse:
    checked = service.prepare(
        runtime,
        session=session,
        question=ask_in.question,
        k=ask_in.k,
        owner=principal.id,
        allowed_collections=principal.collections,
        allowed_models=principal.models,
    )
    return await service.ask(runtime, session=session, ask_in=checked)


alias_router.add_api_route("/ask", _legacy_ask, methods=["POST"], response_model=AskResponse)


@router.post(
    "/api/ask/{answer_id}/feedback",
    status_code=status.HTTP_201_CREATED,
    summary="Rate an answer (up/down), with an optional comment and correction",
)
def give_feedback(
    answer_id: str,
    feedback_in: FeedbackCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> FeedbackPublic:
    return feedback.add_feedback(
        session=session,
        answer_id=answer_id,
        feedback_in=feedback_in,
        owner=principal.id,
        any_answer=principal.can(feedback.ANSWERS_PERMISSION),
    )


def _legacy_feedback(
    feedback_in: LegacyFeedbackCreate, session: SessionDep, principal: CurrentPrincipal
) -> FeedbackPublic:
    return feedback.add_feedback(
        session=session,
        answer_id=feedback_in.answer_id,
        feedback_in=feedback_in,
        owner=principal.id,
        any_answer=principal.can(feedback.ANSWERS_PERMISSION),
    )


alias_router.add_api_route(
    "/ask/feedback",
    _legacy_feedback,
    methods=["POST"],
    status_code=status.HTTP_201_CREATED,
    response_model=FeedbackPublic,
)


def _since(value: date | datetime | None) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time.min)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


SinceQuery = Annotated[
    datetime | date | None,
    Query(description="Only feedback given at or after this date or time (UTC)."),
]


@router.get("/api/feedback", summary="Feedback with the question and answer it is about")
def list_feedback(
    session: SessionDep,
    _p: CurrentPrincipal,
    rating: Rating | None = None,
    since: SinceQuery = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> FeedbackPage:
    return feedback.list_feedback(
        session=session, rating=rating, since=_since(since), limit=limit, offset=offset
    )


@router.get(
    "/api/feedback/export",
    summary="Feedback as training data (JSON lines): sft, dpo or jsonl",
    response_class=Response,
    responses={200: {"content": {"application/x-ndjson": {"schema": {"type": "string"}}}}},
)
def export_feedback(
    session: SessionDep,
    _p: CurrentPrincipal,
    format: export.ExportFormat = "jsonl",
    since: SinceQuery = None,
    min_rating: Rating | None = None,
) -> Response:
    lines = [
        json.dumps(record, ensure_ascii=False) + "\n"
        for record in export.records(
            session=session, fmt=format, since=_since(since), min_rating=min_rating
        )
    ]
    return Response("".join(lines), media_type="application/x-ndjson")


@router.get("/api/answers", summary="Recent answers (operators)")
def list_answers(
    session: SessionDep,
    _p: CurrentPrincipal,
    limit: Limit = 50,
    offset: Offset = 0,
    session_id: IdQuery = None,
) -> AnswerPage:
    return feedback.list_answers(session=session, limit=limit, offset=offset, session_id=session_id)


@router.get("/api/answers/{answer_id}", summary="One answer's full trace")
def show_answer(answer_id: str, session: SessionDep, _p: CurrentPrincipal) -> AnswerTrace:
    return feedback.trace(session=session, answer_id=answer_id)


@router.post(
    "/api/chat/sessions", status_code=status.HTTP_201_CREATED, summary="Start a chat session"
)
def create_session(
    session_in: SessionCreate, session: SessionDep, principal: CurrentPrincipal
) -> SessionPublic:
    return sessions.create_session(session=session, title=session_in.title, owner=principal.id)


@router.get("/api/chat/sessions", summary="Chat sessions, most recently used first")
def list_sessions(
    session: SessionDep, principal: CurrentPrincipal, limit: Limit = 50, offset: Offset = 0
) -> SessionPage:
    return sessions.list_sessions(session=session, owner=principal.id, limit=limit, offset=offset)


@router.get("/api/chat/sessions/{session_id}", summary="A chat session with its messages")
def show_session(
    session_id: str, session: SessionDep, principal: CurrentPrincipal
) -> SessionDetail:
    return sessions.show_session(session=session, session_id=session_id, owner=principal.id)


@router.patch("/api/chat/sessions/{session_id}", summary="Rename a chat session")
def rename_session(
    session_id: str, session_in: SessionUpdate, session: SessionDep, principal: CurrentPrincipal
) -> SessionPublic:
    return sessions.rename_session(
        session=session, session_id=session_id, title=session_in.title, owner=principal.id
    )


@router.delete(
    "/api/chat/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a chat session and its messages (its answers stay)",
)
def delete_session(session_id: str, session: SessionDep, principal: CurrentPrincipal) -> Response:
    sessions.delete_session(session=session, session_id=session_id, owner=principal.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
