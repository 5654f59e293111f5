"""The Ask page: a chat with the knowledge base. Session history in a sidebar, the conversation
with citation chips, a question box that streams the answer from ``POST /api/ask`` (ask.js),
feedback on each answer, and an operator's view of an answer's full trace."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from aiharness.assistant import feedback as answer_records
from aiharness.assistant import sessions as chat_sessions
from aiharness.assistant import views
from aiharness.deps import CurrentPrincipal, RowId, SessionDep
from aiharness.errors import NotFound
from aiharness.knowledge.public import list_collections, locate_passage
from aiharness.principal import Principal
from aiharness.web.i18n import choose_language
from aiharness.web.templating import (
    DashboardCard,
    NavItem,
    WebDep,
    WebUI,
    fragment_router,
    page_router,
)

router = page_router()
fragments = fragment_router()
NAV = (NavItem("ask", "/ask", 30),)
DASHBOARD = (DashboardCard("assistant.dashboard.title", "/ui/ask/dashboard", 30),)
SESSIONS_SHOWN = 100
TRACE_PERMISSION = answer_records.ANSWERS_PERMISSION
FEEDBACK_PERMISSION = "assistant:feedback"
RECENT_ANSWERS = 5
DEFAULT_K = 5
MARKER = re.compile(r"\[(\d{1,3})\]")
# Ids are uuid4 hex; anything longer is refused before it reaches the database.
IdPath = Annotated[str, Path(min_length=1, max_length=64)]
# Strings ask.js shows, rendered into the page in its language (no English on Korean pages).
SCRIPT_STRINGS = {
    "source": "assistant.source",
    "passage_title": "assistant.passage.title",
    "feedback_thanks": "assistant.feedback.thanks",
    "feedback_failed": "assistant.feedback.failed",
    "error": "assistant.error",
    "error_detail": "assistant.error.detail",
    "generator_llm": "assistant.generator.llm",
    "generator_extractive": "assistant.generator.extractive",
    "generator_extractive_hint": "assistant.generator.extractive_hint",
    "fallback": "assistant.fallback",
    "latency": "assistant.latency",
    "page": "knowledge.search.page",
    "thinking": "assistant.thinking",
    "streaming": "assistant.streaming",
    "stopped": "assistant.stopped",
    "rename_prompt": "assistant.session.rename_prompt",
    "delete_confirm": "assistant.session.delete_confirm",
}


@dataclass
class AnswerView:
    """One answer as the conversation and the trace page show it."""

    answer_id: str | None
    html: Markup
    passages: list[dict[str, Any]]  # what the chips open (cited and "maybe related")
    maybe_related: list[dict[str, Any]] = field(default_factory=list)
    generator: str = "extractive"
    refused: bool = False
    fallback_reason: str | None = None
    model: str | None = None
    latency_ms: float | None = None


def cite(text: str, sources: Iterable[dict[str, Any]], *, label: str) -> Markup:
    """``text`` HTML-escaped, with each ``[n]`` that names one of ``sources`` as a chip button
    (``label`` is the chip's accessible name, with ``{n}``)."""
    known = {int(s["n"]) for s in sources}
    out: list[str] = []
    last = 0
    for match in MARKER.finditer(text):
        n = int(match.group(1))
        if n not in known:
            continue
        out.append(str(escape(text[last : match.start()])))
        name = escape(label.format(n=n))
        out.append(
            f'<button type="button" class="cite-chip" data-n="{n}" aria-label="{name}" '
            f'title="{name}">{n}</button>'
        )
        last = match.end()
    out.append(str(escape(text[last:])))
    # Safe: every piece of the answer went through escape(); only the chip buttons are ours.
    return Markup("".join(out))  # noqa: S704


def _dumped(items: Sequence[Any]) -> list[dict[str, Any]]:
    return [i.model_dump(mode="json") if hasattr(i, "model_dump") else dict(i) for i in items]


def _strings(web: WebUI, lang: str) -> dict[str, Any]:
    strings: dict[str, Any] = {
        name: web.catalogs.translate(lang, key) for name, key in SCRIPT_STRINGS.items()
    }
    # Fallback reasons the server writes in English, as [English pattern, this language's text]:
    # ask.js matches a streamed answer's reason against them (the server's tx() does the same).
    english = web.catalogs.strings["en"]
    strings["reasons"] = [
        [english[key], web.catalogs.translate(lang, key)]
        for key in sorted(english)
        if key.startswith("msg.assistant.")
    ]
    return strings


def _chip_label(web: WebUI, lang: str) -> str:
    return web.catalogs.translate(lang, "assistant.source")


def _history(session: Session, messages: Sequence[Any], label: str) -> list[dict[str, Any]]:
    """A session's messages for the template; assistant messages carry an ``AnswerView``."""
    facts = views.answer_facts(
        session=session, answer_ids=[m.answer_id for m in messages if m.answer_id]
    )
    shown: list[dict[str, Any]] = []
    for message in messages:
        item: dict[str, Any] = {"role": message.role, "content": message.content}
        if message.role == "assistant":
            sources = _dumped(message.sources)
            fact = facts.get(message.answer_id or "")
            related = fact.maybe_related if fact else []
            item["view"] = AnswerView(
                answer_id=message.answer_id,
                html=cite(message.content, sources, label=label),
                passages=[*sources, *related],
                maybe_related=related,
                generator=fact.generator if fact else "extractive",
                refused=fact.refused if fact else False,
                fallback_reason=fact.fallback_reason if fact else None,
                model=fact.model if fact else None,
                latency_ms=fact.total_ms if fact else None,
            )
        shown.append(item)
    return shown


@router.get("/ask", response_class=HTMLResponse)
def ask_page(
    request: Request,
    web: WebDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    session_id: Annotated[str | None, Query(alias="session", max_length=64)] = None,
    collection: Annotated[str | None, Query(max_length=128)] = None,
    k: Annotated[int, Query(ge=1, le=20)] = DEFAULT_K,
) -> HTMLResponse:
    """The chat; ``?session=`` opens a past conversation (an unknown one is a 404 page)."""
    lang = choose_language(request)
    current = None
    messages: list[dict[str, Any]] = []
    if session_id:
        current = chat_sessions.show_session(
            session=session, session_id=session_id, owner=principal.id
        )
        messages = _history(session, current.messages, _chip_label(web, lang))
    return web.render(
        request,
        "ask.html",
        {
            "current": current,
            "current_id": current.id if current else None,
            "messages": messages,
            "sessions": _sessions(session, principal.id),
            "collections": [
                c
                for c in list_collections(session=session)
                if principal.may_read_collection(c.name)
            ],
            **_abilities(principal),
            "collection": collection,
            "k": k,
            "strings": _strings(web, lang),
        },
        active="ask",
    )


@router.get("/ask/answers/{answer_id}", response_class=HTMLResponse)
def answer_page(
    answer_id: IdPath,
    request: Request,
    web: WebDep,
    session: SessionDep,
    _p: CurrentPrincipal,
) -> HTMLResponse:
    """An answer's trace for operators: question, search query, retrieved passages with scores,
    the prompt, timings and feedback."""
    lang = choose_language(request)
    trace = answer_records.trace(session=session, answer_id=answer_id)
    sources = _dumped(trace.sources)
    related = _dumped(trace.maybe_related)
    passages = _dumped(trace.passages)
    view = AnswerView(
        answer_id=trace.answer_id,
        html=cite(trace.answer, sources, label=_chip_label(web, lang)),
        passages=[*passages, *(r for r in related if r["n"] not in {p["n"] for p in passages})],
        maybe_related=related,
    )
    return web.render(
        request,
        "ask_answer.html",
        {
            "trace": trace,
            "view": view,
            "by_n": {p["n"]: p for p in passages},
            "cited": {s["n"] for s in sources},
            "strings": _strings(web, lang),
        },
        active="ask",
    )


@router.get("/ask/sources/{chunk_id}", response_model=None)
def source_page(
    chunk_id: RowId, session: SessionDep, principal: CurrentPrincipal
) -> RedirectResponse:
    """A cited passage in its document's page (the chip's "open the document" link)."""
    found = locate_passage(session=session, chunk_id=chunk_id, collections=principal.collections)
    if found is None:
        raise NotFound(f"passage {chunk_id} does not exist (its document was deleted)")
    return RedirectResponse(
        f"/knowledge/{quote(found.collection, safe='')}/documents/{found.document_id}"
        f"#chunk-{found.index}",
        status_code=303,
    )


@fragments.get("/ui/ask/sessions", response_class=HTMLResponse)
def sessions_partial(
    request: Request,
    web: WebDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    current: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    """The sidebar's session list (ask.js refreshes it after each answer, rename or delete)."""
    return web.render(
        request,
        "_ask_sessions.html",
        {"sessions": _sessions(session, principal.id), "current_id": current},
    )


@fragments.get("/ui/ask/dashboard", response_class=HTMLResponse)
def dashboard_partial(
    request: Request, web: WebDep, session: SessionDep, _p: CurrentPrincipal
) -> HTMLResponse:
    """The dashboard card: feedback counts and the latest answers."""
    recent = answer_records.list_answers(session=session, limit=RECENT_ANSWERS)
    return web.render(
        request,
        "_ask_dashboard.html",
        {"counts": views.feedback_counts(session=session), "answers": recent.items},
    )


def _abilities(principal: Principal) -> dict[str, bool]:
    """What the answers offer this caller: the trace link (operators) and feedback."""
    return {
        "may_trace": principal.can(TRACE_PERMISSION),
        "may_feedback": principal.can(FEEDBACK_PERMISSION),
    }


def _sessions(session: Session, owner: str) -> list[Any]:
    page = chat_sessions.list_sessions(session=session, owner=owner, limit=SESSIONS_SHOWN)
    return list(page.items)
