"""``aiharness doctor``: one table that says whether this install can run, and what to fix."""

from __future__ import annotations

import os
import platform as pyplatform
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer

from aiharness import __version__
from aiharness.cli.common import console, settings_or_exit

if TYPE_CHECKING:
    from aiharness.config import Settings
    from aiharness.health.checks import CheckReport

STATUS_STYLE = {
    "ok": "[green]ok[/]",
    "down": "[red]FAIL[/]",
    "disabled": "[dim]off[/]",
    "warn": "[yellow]warn[/]",
}


@dataclass(frozen=True)
class Row:
    name: str
    status: str
    detail: str


def _python_row() -> Row:
    ok = sys.version_info >= (3, 11)
    detail = (
        f"{pyplatform.python_implementation()} {pyplatform.python_version()} at {sys.executable}"
    )
    return Row("python", "ok" if ok else "down", detail if ok else detail + " (3.11+ needed)")


def _offline_row(settings: Settings) -> Row:
    from aiharness.app import OFFLINE_ENV

    forced = ", ".join(f"{k}={v}" for k, v in OFFLINE_ENV.items())
    overridden = [k for k, v in OFFLINE_ENV.items() if os.environ.get(k, v) != v]
    if overridden:
        return Row("offline", "warn", f"{', '.join(overridden)} set to allow downloads")
    from sqlalchemy.engine import make_url

    db_host = make_url(settings.resolved_database_url).host or "a local file"
    return Row(
        "offline",
        "ok",
        f"no run-time downloads or telemetry; set at start: {forced}; database on {db_host}",
    )


def _report_row(report: CheckReport) -> Row:
    name = report.name if report.required else f"{report.name} (optional)"
    return Row(name, report.status, report.detail)


def doctor() -> None:
    """Check Python, the data dir, the database and every configured dependency."""
    from rich.table import Table

    from aiharness.config import ConfigError
    from aiharness.features import FEATURES
    from aiharness.health.checks import run_checks_sync
    from aiharness.platform import build_platform

    settings = settings_or_exit()
    rows = [Row("aiharness", "ok", __version__), _python_row()]
    try:
        # Built like every process, but without migrating: the doctor only looks.
        platform = build_platform(settings, role="cli", features=FEATURES, migrate_database=False)
    except ConfigError as exc:
        rows.append(Row("data dir / database", "down", str(exc)))
    else:
        rows.append(Row("data dir", "ok", f"{settings.data_dir.resolve()} (writable)"))
        rows.extend(_report_row(r) for r in run_checks_sync(platform.checks))
        platform.close()
    rows.append(_offline_row(settings))

    table = Table(title="aiharness doctor", show_lines=False)
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    for row in rows:
        table.add_row(row.name, STATUS_STYLE.get(row.status, row.status), row.detail)
    console.print(table)
    failed = [row.name for row in rows if row.status == "down"]
    if failed:
        console.print(f"[red]{len(failed)} check(s) failed:[/] {', '.join(failed)}")
        raise typer.Exit(1)
    console.print("[green]all checks passed[/]")
