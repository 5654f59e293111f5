"""What other parts may use of the assistant (the benchmark, the web pages, the CLI's local mode).

    from aiharness.assistant.public import AssistantRuntime, ask, ask_stream

    runtime = platform.get(AssistantRuntime)
    with platform.unit_of_work() as session:
        result = await ask(runtime, session=session, question="P-101 윤활유 교체 주기는?")
    result.answer, result.sources, result.meta.generator

    async for event in ask_stream(runtime, session=session, question="..."):
        event.event  # "sources", "token" (many), "done" (data = the AskResponse JSON) or "error"

``ask`` writes the answer record with the given session (the caller commits, as
``unit_of_work`` does on exit). ``ask_stream`` checks the question with ``session`` and then
works on its own units of work, so its records are written even after ``session`` closes.
Both raise before anything is stored: ``Invalid`` (empty or too long a question), ``NotFound``
(unknown collection, chat session or model). ``allowed_collections``/``allowed_models`` are the
caller's allow-lists (``principal.collections``/``principal.models``; None: all): nothing outside
them is searched or asked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from sqlalchemy.orm import Session

from aiharness.assistant import service
from aiharness.assistant.runtime import AssistantRuntime
from aiharness.assistant.schemas import AskMeta, AskResponse, Source
from aiharness.assistant.service import AskEvent


async def ask(
    runtime: AssistantRuntime,
    *,
    session: Session,
    question: str,
    collections: Sequence[str] | None = None,
    k: int | None = None,
    session_id: str | None = None,
    model: str | None = None,
    caller: str | None = None,
    allowed_collections: frozenset[str] | None = None,
    allowed_models: frozenset[str] | None = None,
) -> AskResponse:
    """A whole answer with the sources it cites; ``k`` defaults to the settings (5)."""
    checked = service.prepare(
        runtime,
        session=session,
        question=question,
        collections=collections,
        k=k,
        session_id=session_id,
        model=model,
        owner=caller,
        allowed_collections=allowed_collections,
        allowed_models=allowed_models,
    )
    return await service.ask(runtime, session=session, ask_in=checked)


async def ask_stream(
    runtime: AssistantRuntime,
    *,
    session: Session,
    question: str,
    collections: Sequence[str] | None = None,
    k: int | None = None,
    session_id: str | None = None,
    model: str | None = None,
    caller: str | None = None,
    allowed_collections: frozenset[str] | None = None,
    allowed_models: frozenset[str] | None = None,
) -> AsyncIterator[AskEvent]:
    """The answer as events (the API's server-sent events, one for one)."""
    checked = service.prepare(
        runtime,
        session=session,
        question=question,
        collections=collections,
        k=k,
        session_id=session_id,
        model=model,
        owner=caller,
        allowed_collections=allowed_collections,
        allowed_models=allowed_models,
    )
    async for event in service.stream(runtime, checked):
        yield event


__all__ = ["AskEvent", "AskMeta", "AskResponse", "AssistantRuntime", "Source", "ask", "ask_stream"]
