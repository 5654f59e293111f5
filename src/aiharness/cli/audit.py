"""``aiharness audit``: the audit log, newest first, filtered (local or ``--url``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from aiharness.cli.backend import connect
from aiharness.cli.common import UrlOption, console, echo_json, fail

RESULT_STYLE = {"ok": "green", "denied": "yellow", "failed": "red"}
_RELATIVE = re.compile(r"^(\d{1,6})\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def register(root: typer.Typer) -> None:
    root.command("audit")(audit)


def parse_since(value: str) -> datetime:
    """``30m``, ``2h``, ``7d`` ago, or an ISO date/time (UTC when it names no zone)."""
    text = value.strip()
    match = _RELATIVE.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return datetime.now(UTC) - timedelta(**{_UNITS[unit]: amount})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a time; use e.g. 30m, 2h, 7d or 2026-12-01T09:00"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def audit(
    actor: Annotated[str | None, typer.Option(help="Actor id or name (exact).")] = None,
    action: Annotated[
        str | None, typer.Option(help="Action, or a prefix ending in * (knowledge.*).")
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="Target, or a prefix ending in * (collection:*).")
    ] = None,
    result: Annotated[str | None, typer.Option(help="ok, denied or failed.")] = None,
    since: Annotated[
        str | None, typer.Option(help="From this time: 30m, 2h, 7d or an ISO date/time (UTC).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Entries to show.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    url: str | None = UrlOption,
) -> None:
    """Show the audit log: who changed what, when, from where (newest first)."""
    if result is not None and result not in RESULT_STYLE:
        fail(f"--result must be one of {', '.join(RESULT_STYLE)}", 2)
    moment = parse_since(since) if since else None
    with connect(url) as backend:
        page = backend.list_audit(
            actor=actor, action=action, target=target, result=result, since=moment, limit=limit
        )
    if as_json:
        echo_json(page.model_dump(mode="json"))
        return
    if not page.items:
        console.print("no audit entries match")
        return
    from rich.table import Table

    table = Table(title=f"audit log ({len(page.items)} of {page.total})")
    for column in ("at (UTC)", "actor", "action", "target", "result", "from"):
        table.add_column(column, overflow="fold")
    for entry in page.items:
        style = RESULT_STYLE.get(entry.result, "white")
        table.add_row(
            entry.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            entry.actor_name,
            entry.action,
            entry.target,
            f"[{style}]{entry.result}[/]",
            entry.client_address or "-",
        )
    console.print(table)
