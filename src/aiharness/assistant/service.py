"""Ask: (follow-up rewrite) -> hybrid retrieval -> packing -> refuse or generate -> cite -> store.

One path for every caller: ``answer_events`` yields the streaming events (``sources``, then
``token``s, then ``done`` with the whole answer); a non-streaming ask is the same events with
only ``done`` kept. Generation goes through the gateway (streamed, so failover continues an
answer that breaks mid-way); with no backend, or when every backend is down or the stream
breaks beyond repair, the extractive generator answers and ``meta.fallback_reason`` says why.
Nothing is stored until the answer is complete: the answer record (with its trace) and the
chat session's two messages are written together in one unit of work.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from aiharness.assistant import citations, followup, generation, packing
from aiharness.assistant import sessions as chat_sessions
from aiharness.assistant.models import Answer, ChatMessage, ChatSession
from aiharness.assistant.passages import Language, Passage, question_language
from aiharness.assistant.runtime import AssistantRuntime
from aiharness.assistant.schemas import AskMeta, AskResponse, Source
from aiharness.db.base import utcnow
from aiharness.errors import DomainError, Invalid, NotFound, Unavailable
from aiharness.gateway import public as gateway_public
from aiharness.knowledge import public as knowledge
from aiharness.observability.logging import get_logger

log = get_logger("aiharness.assistant")
Sessions = Callable[[], AbstractContextManager[Session]]
EventKind = Literal["sources", "token", "done", "error"]
MAYBE_RELATED = 3
NO_LLM = "no LLM backend is configured"


@dataclass(frozen=True)
class AskEvent:
    """One event of a streamed answer; ``data`` is the JSON payload the API sends."""

    event: EventKind
    data: dict[str, Any]


@dataclass(frozen=True)
class AskInput:
    """A checked question (collections and session exist, lengths within limits)."""

    question: str
    collections: list[str] | None
    k: int
    session_id: str | None
    alias: str
    model_given: bool
    owner: str | None
    answer_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # The caller's allow-lists (None: every collection / model); answers never use others.
    allowed_collections: frozenset[str] | None = None
    llm_allowed: bool = True


def new_id() -> str:
    return uuid.uuid4().hex


def any_llm(runtime: AssistantRuntime) -> bool:
    """True when the gateway has at least one backend (of any alias)."""
    return runtime.gateway is not None and bool(runtime.gateway.slots)


def llm_available(runtime: AssistantRuntime, alias: str) -> bool:
    return runtime.gateway is not None and gateway_public.serves(runtime.gateway, alias)


def prepare(
    runtime: AssistantRuntime,
    *,
    session: Session,
    question: str,
    collections: Sequence[str] | None = None,
    k: int | None = None,
    session_id: str | None = None,
    model: str | None = None,
    owner: str | None = None,
    allowed_collections: frozenset[str] | None = None,
    allowed_models: frozenset[str] | None = None,
) -> AskInput:
    """Check a question before anything is retrieved or stored (Invalid, NotFound).

    ``allowed_collections``/``allowed_models``: the caller's allow-lists (``principal``'s; None
    is every one). A collection or model outside them is "not found"; when the configured model
    is outside them the answer is extractive."""
    section = runtime.section
    text = question.strip()
    if not text:
        raise Invalid("the question is empty", code="empty_question")
    if len(text) > section.max_question_chars:
        raise Invalid(
            f"the question has {len(text)} characters; at most {section.max_question_chars} "
            "are accepted",
            code="question_too_long",
        )
    if "\x00" in text:
        raise Invalid("the question contains a NUL character", code="invalid_text")
    names = list(dict.fromkeys(c for c in (collections or []) if c))
    for name in names:
        found = knowledge.find_collection(
            session=session, name=name, collections=allowed_collections
        )
        if found is None:
            raise NotFound(f"collection {name!r} does not exist", code="collection_not_found")
    if session_id is not None:  # the caller's own conversation, else session_not_found
        chat_sessions.get_session(session=session, session_id=session_id, owner=owner)
    if model is not None and not any_llm(runtime):
        model = None  # nothing to choose from: the extractive answer, as without a model
    alias = model or section.alias
    outside = allowed_models is not None and alias not in allowed_models
    if model is not None and (outside or not llm_available(runtime, model)):
        known = []
        if runtime.gateway is not None:
            known = [
                m.id
                for m in gateway_public.models(runtime.gateway)
                if m.kind != "embeddings" and (allowed_models is None or m.id in allowed_models)
            ]
        raise NotFound(
            f"the model {model!r} does not exist; available models: "
            f"{', '.join(known) or 'none configured'}",
            code="model_not_found",
        )
    return AskInput(
        question=text,
        collections=names or None,
        k=k or section.k,
        session_id=session_id,
        alias=alias,
        model_given=model is not None,
        owner=owner,
        allowed_collections=allowed_collections,
        llm_allowed=not outside,
    )


# -- retrieval ---------------------------------------------------------------------------
def _search_all(
    runtime: AssistantRuntime,
    session: Session,
    query: str,
    collections: Sequence[str] | None,
    k: int,
    allowed: frozenset[str] | None = None,
) -> tuple[list[knowledge.SearchHit], str]:
    """Hybrid search over the collections (each searched, merged by score); keyword search
    when the embedder cannot serve them (missing model, collections of another embedder)."""
    names: list[str | None] = list(collections) if collections else [None]
    modes: tuple[knowledge.SearchMode, ...] = ("hybrid", "keyword")
    for mode in modes:
        hits: list[knowledge.SearchHit] = []
        try:
            for name in names:
                try:
                    hits.extend(
                        knowledge.search(
                            runtime.knowledge,
                            session=session,
                            query=query,
                            k=k,
                            mode=mode,
                            collection=name,
                            collections=allowed,
                            # The refusal rule (relevance.py) judges passages in the other
                            # language by similarity alone, calibrated on this ranking; with
                            # the bilingual one it answered 11 of 30 unanswerable questions.
                            bilingual=False,
                        )
                    )
                except knowledge.NothingIndexedError:
                    continue  # nothing to find there: the answer says the documents are silent
        except knowledge.EmbedderMismatchError:
            continue
        except Unavailable as exc:
            if exc.code != "embedder_unavailable":
                raise
            continue
        best: dict[int, knowledge.SearchHit] = {}
        for hit in sorted(hits, key=lambda h: -h.score):
            best.setdefault(hit.chunk_id, hit)
        return list(best.values())[:k], mode
    return [], "keyword"


def _history(session: Session, session_id: str, turns: int) -> list[tuple[str, str]]:
    rows = session.scalars(
        select(ChatMessage)
        .where(ChatMessage.session_id == session_id)
        .order_by(ChatMessage.id.desc())
        .limit(max(1, turns) * 2)
    ).all()
    return [(m.role, m.content) for m in reversed(rows)]


async def _standalone(
    runtime: AssistantRuntime,
    ask_in: AskInput,
    history: list[tuple[str, str]],
    language: Language,
) -> str:
    """The question as a standalone search query (the model when there is one, else rules)."""
    previous = [content for role, content in history if role == "user"]
    if not previous or not followup.is_follow_up(ask_in.question):
        return ask_in.question  # it stands on its own: no model call, no rewrite
    if (
        runtime.section.rewrite_with_llm
        and runtime.gateway is not None
        and ask_in.llm_allowed
        and llm_available(runtime, ask_in.alias)
    ):
        try:
            rewritten = await generation.rewrite(
                runtime.gateway,
                ask_in.question,
                history,
                language,
                alias=ask_in.alias,
                caller=ask_in.owner,
            )
        except DomainError as exc:
            log.info("follow-up rewrite fell back to the heuristic", error=exc.message)
        else:
            rewritten = rewritten.splitlines()[0].strip() if rewritten.strip() else ""
            if 0 < len(rewritten) <= 4 * max(len(ask_in.question), 200):
                return rewritten
    return followup.standalone(ask_in.question, previous)


# -- generation --------------------------------------------------------------------------
@dataclass
class _Draft:
    answer: str = ""
    generator: Literal["llm", "extractive"] = "extractive"
    refused: bool = False
    cited: list[int] = field(default_factory=list)
    model: str | None = None
    backend: str | None = None
    prompt: list[dict[str, str]] | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    ttft_ms: float | None = None
    fallback_reason: str | None = None


def _words(text: str) -> list[str]:
    return re.findall(r"\S+\s*", text) or [text]


def _extractive(question: str, passages: Sequence[Passage], draft: _Draft, not_found: str) -> None:
    from aiharness.assistant.extractive import extract_answer

    text = extract_answer(question, passages) if passages else ""
    answer, cited = citations.clean(text, {p.n for p in passages})
    draft.generator = "extractive"
    draft.prompt = None
    draft.model = draft.backend = None
    draft.prompt_tokens = draft.completion_tokens = None
    if not answer or not cited:
        draft.refused, draft.answer, draft.cited = True, not_found, []
    else:
        draft.refused, draft.answer, draft.cited = False, answer, cited


def _source_list(passages: Sequence[Passage], numbers: Sequence[int]) -> list[Source]:
    by_n = {p.n: p for p in passages}
    return [Source.of(by_n[n]) for n in sorted(set(numbers)) if n in by_n]


def _maybe_related(passages: Sequence[Passage]) -> list[Source]:
    return [Source.of(p) for p in sorted(passages, key=lambda p: -p.score)[:MAYBE_RELATED]]


async def answer_events(
    runtime: AssistantRuntime, sessions: Sessions, ask_in: AskInput, *, tokens: bool = True
) -> AsyncIterator[AskEvent]:
    """The answer as events: ``sources``, ``token`` (unless ``tokens`` is False), ``done``."""
    from aiharness.assistant.relevance import answerable, not_found_text

    started = time.perf_counter()
    section = runtime.section
    language = question_language(ask_in.question)
    not_found = not_found_text(language)
    use_llm = ask_in.llm_allowed and llm_available(runtime, ask_in.alias)
    no_llm = NO_LLM if ask_in.llm_allowed else f"the caller may not use the model {ask_in.alias!r}"

    history: list[tuple[str, str]] = []
    if ask_in.session_id is not None:
        with sessions() as session:
            history = _history(session, ask_in.session_id, section.history_turns)
    search_query = await _standalone(runtime, ask_in, history, language)

    retrieval_started = time.perf_counter()

    model_context = (
        gateway_public.context_length(runtime.gateway, ask_in.alias)
        if use_llm and runtime.gateway is not None
        else None
    )

    def retrieve() -> tuple[list[knowledge.SearchHit], str, packing.Packed, bool]:
        # Search, packing and the relevance check are CPU work (embedding, Kiwi): off the loop.
        with sessions() as session:
            hits, mode = _search_all(
                runtime,
                session,
                search_query,
                ask_in.collections,
                ask_in.k,
                ask_in.allowed_collections,
            )
        packed = packing.pack(
            hits,
            budget_tokens=packing.budget(
                context_tokens=section.context_tokens,
                model_context=model_context,
                answer_tokens=section.max_answer_tokens,
                prompt_tokens=generation.PROMPT_OVERHEAD_TOKENS
                + packing.estimate_tokens(search_query),
            ),
            duplicate_overlap=section.duplicate_overlap,
        )
        refuse = not packed.passages or not answerable(search_query, packed.passages)
        return hits, mode, packed, refuse

    hits, mode, packed, refuse_early = await asyncio.to_thread(retrieve)
    passages = packed.passages
    retrieval_ms = (time.perf_counter() - retrieval_started) * 1000
    given = [] if refuse_early else passages
    yield AskEvent(
        "sources",
        {
            "sources": [Source.of(p).model_dump(mode="json") for p in given],
            "answer_id": ask_in.answer_id,
        },
    )

    generation_started = time.perf_counter()
    draft = _Draft()
    if refuse_early:
        draft.refused, draft.answer = True, not_found
        draft.fallback_reason = None if use_llm else no_llm
        if tokens:
            yield AskEvent("token", {"text": not_found})
    elif use_llm and runtime.gateway is not None:
        messages = generation.messages_for(search_query, passages, language, not_found)
        draft.generator, draft.prompt = "llm", messages
        pieces: list[str] = []
        try:
            async for delta in generation.stream(
                runtime.gateway,
                messages,
                alias=ask_in.alias,
                max_tokens=section.max_answer_tokens,
                temperature=section.temperature,
                caller=ask_in.owner,
            ):
                draft.model = delta.model or draft.model
                draft.backend = delta.backend or draft.backend
                if not delta.text:
                    continue
                if draft.ttft_ms is None:
                    draft.ttft_ms = round((time.perf_counter() - started) * 1000, 2)
                pieces.append(delta.text)
                if tokens:
                    yield AskEvent("token", {"text": delta.text})
        except DomainError as exc:
            reason = (
                f"every LLM backend is down: {exc.message}"
                if isinstance(exc, Unavailable)
                else f"the LLM answer failed: {exc.message}"
            )
            log.warning("assistant fell back to the extractive answer", reason=reason)
            await asyncio.to_thread(_extractive, search_query, passages, draft, not_found)
            draft.fallback_reason = reason
            if tokens:
                for word in _words(draft.answer):
                    yield AskEvent("token", {"text": word})
        else:
            raw = "".join(pieces)
            draft.prompt_tokens = sum(packing.estimate_tokens(m["content"]) for m in messages)
            draft.completion_tokens = len(pieces)
            answer, cited = citations.clean(raw, {p.n for p in passages})
            if citations.says_not_found(raw, not_found) or not answer:
                draft.refused, draft.answer, draft.cited = True, not_found, []
            else:
                draft.answer, draft.cited = answer, cited
    else:
        await asyncio.to_thread(_extractive, search_query, passages, draft, not_found)
        draft.fallback_reason = no_llm
        if tokens:
            for word in _words(draft.answer):
                yield AskEvent("token", {"text": word})
    if draft.ttft_ms is None and draft.answer:
        draft.ttft_ms = round((time.perf_counter() - started) * 1000, 2)
    generation_ms = (time.perf_counter() - generation_started) * 1000
    total_ms = (time.perf_counter() - started) * 1000

    sources = [] if draft.refused else _source_list(passages, draft.cited)
    related = _maybe_related(hits_to_passages(hits) if refuse_early else passages)
    related = related if draft.refused else []
    retrieved = [
        {"chunk_id": h.chunk_id, "score": round(h.score, 6), "n": packed.numbering.get(h.chunk_id)}
        for h in hits
    ]
    record = Answer(
        id=ask_in.answer_id,
        owner=ask_in.owner,
        session_id=ask_in.session_id,
        question=ask_in.question,
        search_query=search_query,
        language=language,
        collections=ask_in.collections,
        answer=draft.answer,
        generator=draft.generator,
        refused=draft.refused,
        model=draft.model,
        backend=draft.backend,
        retrieval_mode=mode,
        fallback_reason=draft.fallback_reason,
        prompt=draft.prompt,
        retrieved=retrieved,
        passages=[Source.of(p).model_dump(mode="json") for p in given],
        cited=[] if draft.refused else draft.cited,
        maybe_related=[s.model_dump(mode="json") for s in related],
        prompt_tokens=draft.prompt_tokens,
        completion_tokens=draft.completion_tokens,
        retrieval_ms=round(retrieval_ms, 2),
        generation_ms=round(generation_ms, 2),
        total_ms=round(total_ms, 2),
        ttft_ms=draft.ttft_ms,
    )
    source_dicts = [s.model_dump(mode="json") for s in sources]
    with sessions() as session:
        session.add(record)
        if ask_in.session_id is not None:
            chat = session.get(ChatSession, ask_in.session_id)
            if chat is not None:  # deleted while answering: keep the answer, skip the turn
                now = utcnow()
                session.add(
                    ChatMessage(
                        session_id=chat.id, role="user", content=ask_in.question, created_at=now
                    )
                )
                session.add(
                    ChatMessage(
                        session_id=chat.id,
                        role="assistant",
                        content=draft.answer,
                        sources=source_dicts,
                        answer_id=record.id,
                        created_at=now,
                    )
                )
                chat.updated_at = now
                if not chat.title:
                    chat.title = _title(ask_in.question)
        session.flush()
    response = AskResponse(
        answer=draft.answer,
        sources=sources,
        maybe_related=related,
        meta=AskMeta(
            answer_id=ask_in.answer_id,
            generator=draft.generator,
            refused=draft.refused,
            model=draft.model,
            backend=draft.backend,
            retrieval_mode=mode,
            language=language,
            latency_ms=round(total_ms, 2),
            ttft_ms=draft.ttft_ms,
            prompt_tokens=draft.prompt_tokens,
            completion_tokens=draft.completion_tokens,
            fallback_reason=draft.fallback_reason,
            session_id=ask_in.session_id,
        ),
    )
    log.info(
        "answered",
        answer_id=ask_in.answer_id,
        generator=draft.generator,
        refused=draft.refused,
        latency_ms=round(total_ms, 2),
        fallback_reason=draft.fallback_reason,
    )
    yield AskEvent("done", response.model_dump(mode="json"))


def hits_to_passages(hits: Sequence[knowledge.SearchHit]) -> list[Passage]:
    """Retrieved hits as unnumbered passages (``n`` = rank), for "maybe related" lists."""
    return [
        Passage(
            n=i,
            chunk_id=h.chunk_id,
            document_id=h.document_id,
            source_path=h.source_path,
            file_name=h.file_name,
            page=h.page,
            heading=h.heading,
            score=h.score,
            text=h.text,
            collection=h.collection,
            token_count=h.token_count,
        )
        for i, h in enumerate(hits, start=1)
    ]


def _title(question: str) -> str:
    line = " ".join(question.split())
    return line if len(line) <= 80 else line[:79].rstrip() + "…"


async def ask(runtime: AssistantRuntime, *, session: Session, ask_in: AskInput) -> AskResponse:
    """A whole answer, written with ``session`` (the caller commits)."""
    done: dict[str, Any] | None = None
    async for event in answer_events(runtime, lambda: nullcontext(session), ask_in, tokens=False):
        if event.event == "done":
            done = event.data
    assert done is not None
    return AskResponse.model_validate(done)


async def stream(runtime: AssistantRuntime, ask_in: AskInput) -> AsyncIterator[AskEvent]:
    """A streamed answer on its own units of work; a failure after the start becomes an
    ``error`` event (the response's status is already sent)."""
    try:
        async for event in answer_events(runtime, runtime.unit_of_work, ask_in):
            yield event
    except DomainError as exc:
        yield AskEvent(
            "error", {"error": {"message": exc.message, "type": exc.kind, "code": exc.code}}
        )
    except Exception as exc:
        log.exception("streamed answer failed", answer_id=ask_in.answer_id)
        yield AskEvent(
            "error",
            {
                "error": {
                    "message": f"the answer failed: {type(exc).__name__}",
                    "type": "internal",
                    "code": "internal_error",
                }
            },
        )
