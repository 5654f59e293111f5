"""``aiharness ask``, ``aiharness feedback list|export`` and the assistant side of
``aiharness chat --rag``: grounded answers with their numbered sources, from a shell."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from aiharness.cli.backend import connect
from aiharness.cli.common import UrlOption, console, echo_json, err_console, fail

if TYPE_CHECKING:
    from aiharness.assistant.schemas import AskResponse
    from aiharness.cli.backend import Backend

feedback_app = typer.Typer(help="Feedback on answers, and its export as training data.")
EXPORT_FORMATS = ("sft", "dpo", "jsonl")
RATINGS = ("up", "down")


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def print_sources(answer: AskResponse) -> None:
    """The numbered source list under an answer (file, page), or the "maybe related" ones."""
    if answer.sources:
        console.print("\n[bold]Sources[/]", highlight=False)
        for source in answer.sources:
            page = f", p. {source.page}" if source.page is not None else ""
            heading = f" · {source.heading}" if source.heading else ""
            console.print(
                f"  [{source.n}] [cyan]{source.file_name}[/]{page}{heading} "
                f"[dim]({source.collection})[/]",
                highlight=False,
                markup=True,
            )
    elif answer.maybe_related:
        console.print("\n[bold]Maybe related[/]", highlight=False)
        for source in answer.maybe_related:
            page = f", p. {source.page}" if source.page is not None else ""
            console.print(f"  - [cyan]{source.file_name}[/]{page}", highlight=False)
    meta = answer.meta
    via = (meta.model or "llm") if meta.generator == "llm" else "extractive"
    note = f" · {meta.fallback_reason}" if meta.fallback_reason else ""
    err_console.print(
        f"[dim]{via} · {meta.latency_ms:.0f} ms · answer {meta.answer_id}{note}[/]",
        highlight=False,
    )


def answer_once(backend: Backend, body: dict[str, Any], *, stream: bool) -> AskResponse:
    """Ask and print the answer (streaming its tokens when asked), then its sources."""
    if not stream:
        answer = backend.ask(body)
        console.print(answer.answer, highlight=False, markup=False)
        print_sources(answer)
        return answer
    shown: list[str] = []

    def on_event(event: str, data: dict[str, Any]) -> None:
        if event == "token":
            shown.append(str(data.get("text", "")))
            _write(shown[-1])

    answer = backend.ask(body, on_event)
    if "".join(shown).strip() != answer.answer.strip():
        # The final answer differs from the streamed text (markers cleaned up, or the
        # extractive fallback after a broken stream): print the final one.
        _write("\n\n" if shown else "")
        console.print(answer.answer, highlight=False, markup=False)
    else:
        _write("\n")
    print_sources(answer)
    return answer


def ask(
    question: str = typer.Argument(..., help="The question (Korean or English)."),
    collection: Annotated[
        list[str] | None,
        typer.Option("--collection", "-c", help="Collection to search (repeatable); default: all."),
    ] = None,
    k: int | None = typer.Option(None, "--k", "-k", min=1, max=20, help="Passages to use."),
    stream: bool = typer.Option(False, "--stream", help="Print the answer as it is written."),
    model: str | None = typer.Option(None, "--model", "-m", help="Gateway model (alias)."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole answer as JSON."),
    url: str | None = UrlOption,
) -> None:
    """Ask the documents: the answer with [n] markers and the numbered sources it cites."""
    if not question.strip():
        fail("the question is empty", code=2)
    body: dict[str, Any] = {"question": question, "collections": collection or None}
    body.update({key: v for key, v in (("k", k), ("model", model)) if v is not None})
    _quiet_local_logs(url)
    with connect(url) as backend:
        if as_json:
            echo_json(backend.ask(body).model_dump(mode="json"))
            return
        answer_once(backend, body, stream=stream)


def rag_chat(
    *,
    url: str | None,
    prompt: str | None,
    model: str | None,
    collections: list[str] | None = None,
) -> None:
    """A conversation grounded in the documents: one chat session, sources after each answer."""
    _quiet_local_logs(url)
    with connect(url) as backend:
        session = backend.create_chat_session(None)
        body: dict[str, Any] = {"session_id": session.id, "collections": collections or None}
        if model:
            body["model"] = model
        if prompt and prompt.strip():
            answer_once(backend, {**body, "question": prompt}, stream=True)
            return
        console.print(
            f"[dim]chat session {session.id}; answers cite the documents; Ctrl-D ends it[/]",
            highlight=False,
        )
        while True:
            try:
                line = input("> ").strip()
            except (EOFError, KeyboardInterrupt):
                _write("\n")
                return
            if not line:
                continue
            if line in {"/exit", "/quit"}:
                return
            answer_once(backend, {**body, "question": line}, stream=True)


def _quiet_local_logs(url: str | None) -> None:
    if not url:
        from aiharness.observability.logging import configure_logging

        # The answer goes to stdout (pipeable); the platform's log lines, if any, to stderr.
        configure_logging("warning", "console")


@feedback_app.command("list")
def list_feedback(
    rating: str | None = typer.Option(None, "--rating", help="Only `up` or `down`."),
    since: str | None = typer.Option(None, "--since", help="Given on or after (YYYY-MM-DD)."),
    limit: int = typer.Option(50, "--limit", min=1, max=500, help="How many."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    url: str | None = UrlOption,
) -> None:
    """Recent feedback with the question it is about."""
    if rating is not None and rating not in RATINGS:
        fail(f"--rating must be up or down, not {rating!r}", code=2)
    with connect(url) as backend:
        page = backend.list_feedback(rating=rating, since=since, limit=limit)
    if as_json:
        echo_json(page.model_dump(mode="json"))
        return
    if not page.items:
        console.print("no feedback yet")
        return
    for item in page.items:
        mark = "[green]up[/]" if item.rating == "up" else "[red]down[/]"
        console.print(
            f"{item.created_at:%Y-%m-%d %H:%M} {mark} [dim]{item.answer_id}[/] "
            f"{_short(item.question)}",
            highlight=False,
        )
        for label, text in (("comment", item.comment), ("correction", item.corrected_answer)):
            if text:
                console.print(f"    {label}: {_short(text)}", highlight=False, markup=False)
    console.print(f"[dim]{len(page.items)} of {page.total}[/]")


def _short(text: str, limit: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@feedback_app.command("export")
def export_feedback(
    fmt: str = typer.Option(..., "--format", "-f", help="sft, dpo or jsonl."),
    since: str | None = typer.Option(
        None, "--since", help="Only feedback given on or after this date (YYYY-MM-DD, UTC)."
    ),
    min_rating: str | None = typer.Option(
        None, "--min-rating", help="`up`: thumbs-up only; `down` (default): every rating."
    ),
    url: str | None = UrlOption,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (JSON lines); default: stdout."),
    ] = None,
) -> None:
    """Feedback as training data, one JSON record a line (schemas in docs/assistant.md)."""
    if fmt not in EXPORT_FORMATS:
        fail(f"--format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}", code=2)
    if min_rating is not None and min_rating not in RATINGS:
        fail(f"--min-rating must be up or down, not {min_rating!r}", code=2)
    with connect(url) as backend:
        records = backend.export_feedback(fmt=fmt, since=since, min_rating=min_rating)
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if output is None:
        _write(lines)
        return
    try:
        output.write_text(lines, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    err_console.print(f"{len(records)} {fmt} record(s) written to {output}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("ask")(ask)
    app.add_typer(feedback_app, name="feedback")
