"""``aiharness jobs list|show|submit|cancel|retry|watch``.

Local (the database is the source of truth, so they work whether or not a server runs) or
through a running platform with ``--url``.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from aiharness.cli.backend import connect
from aiharness.cli.common import UrlOption, console, echo_json, fail

if TYPE_CHECKING:
    from rich.console import Group
    from rich.progress_bar import ProgressBar
    from rich.table import Table

    from aiharness.jobs.schemas import JobPublic

app = typer.Typer(
    help="Background jobs: list, inspect, cancel, retry, watch.", no_args_is_help=True
)
JOB_STATUSES = ("queued", "running", "retrying", "succeeded", "failed", "cancelled")
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
STATUS_STYLE = {
    "queued": "cyan",
    "running": "yellow",
    "retrying": "magenta",
    "succeeded": "green",
    "failed": "red",
    "cancelled": "dim",
}


def register(root: typer.Typer) -> None:
    from aiharness.cli.worker import worker

    root.add_typer(app, name="jobs")
    root.command("worker")(worker)


def _ago(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    seconds = (datetime.now(UTC) - moment).total_seconds()
    if seconds < 90:
        return f"{seconds:.0f}s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m ago"
    return moment.strftime("%Y-%m-%d %H:%M")


def _status(job: JobPublic) -> str:
    text = job.status + (
        " (cancelling)" if job.cancel_requested and job.status == "running" else ""
    )
    return f"[{STATUS_STYLE[job.status]}]{text}[/]"


def _progress_cell(job: JobPublic) -> ProgressBar | str:
    from rich.progress_bar import ProgressBar

    p = job.progress
    if p.total:
        return ProgressBar(total=p.total, completed=min(p.done, p.total), width=20)
    return str(p.done) if p.done else "-"


# Below this width the progress bar column is left out so that states are never cut.
WIDE_TERMINAL = 110


def jobs_table(items: list[JobPublic], title: str | None = None) -> Table:
    """Jobs as a table that fits an 80-column terminal: states and ids are never cut; on a
    wide terminal a progress bar joins the counts."""
    from rich.table import Table

    wide = console.width >= WIDE_TERMINAL
    table = Table(title=title, show_lines=False, expand=False)
    table.add_column("id", no_wrap=True)
    table.add_column("type", overflow="fold")
    table.add_column("status", no_wrap=True, min_width=9)
    if wide:
        table.add_column("progress", no_wrap=True)
    table.add_column("done", overflow="fold")
    table.add_column("try", no_wrap=True)
    table.add_column("age", no_wrap=True)
    table.add_column("note", overflow="fold", ratio=1)
    for job in items:
        p = job.progress
        note = job.error or job.status_reason or p.message or ""
        done = f"{p.done}/{p.total if p.total is not None else '?'}"
        if p.rate_per_s:
            done += f" {p.rate_per_s:.1f}/s"
        if p.eta_s is not None:
            done += f" {format_duration(p.eta_s)} left"
        row: list[ProgressBar | str] = [job.id[:12], job.type, _status(job)]
        if wide:
            row.append(_progress_cell(job))
        row += [done, f"{job.attempts}/{job.max_attempts}", _ago(job.created_at), note[:120]]
        table.add_row(*row)
    return table


def format_duration(seconds: float) -> str:
    """``18m 44s``, ``2h 05m``, ``40s``."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


@app.command("list")
def list_(
    status: str | None = typer.Option(None, help=f"Only this status: {', '.join(JOB_STATUSES)}."),
    type_: str | None = typer.Option(None, "--type", help="Only this job type."),
    limit: int = typer.Option(50, min=1, max=500, help="How many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    url: str | None = UrlOption,
) -> None:
    """List jobs, newest first."""
    if status is not None and status not in JOB_STATUSES:
        fail(f"unknown status {status!r}; use one of {', '.join(JOB_STATUSES)}")
    with connect(url) as backend:
        page = backend.list_jobs(status=status, job_type=type_, limit=limit)
    if as_json:
        echo_json(page.model_dump(mode="json"))
        return
    console.print(jobs_table(page.items, title=f"{len(page.items)} of {page.total} jobs"))


@app.command()
def show(
    job_id: str = typer.Argument(..., help="Job id (a unique prefix is enough)."),
    url: str | None = UrlOption,
) -> None:
    """Show one job: parameters, progress, result or error with traceback, and its log tail."""
    from rich.panel import Panel

    with connect(url) as backend:
        job = backend.get_job(job_id)
    console.print(jobs_table([job], title=f"job {job.id}"))
    console.print(f"params: {json.dumps(job.params, ensure_ascii=False)}")
    if job.worker_id:
        console.print(f"worker: {job.worker_id}")
    if job.result is not None:
        console.print(f"result: {json.dumps(job.result, ensure_ascii=False)}")
    if job.error:
        console.print(Panel(job.error_traceback or job.error, title="error", border_style="red"))
    if job.log_tail:
        console.print(Panel(job.log_tail.rstrip(), title="log tail"))


@app.command()
def submit(
    job_type: str = typer.Argument(..., help="A registered job type (e.g. noop, sleep)."),
    params: str = typer.Option(
        "{}", "--params", help="Parameters as a JSON object; unknown names are refused."
    ),
    delay: float = typer.Option(0.0, min=0, help="Seconds to wait before it may run."),
    url: str | None = UrlOption,
) -> None:
    """Submit a job; unknown types and invalid parameters are refused before anything is stored."""
    try:
        raw = json.loads(params)
    except json.JSONDecodeError as exc:
        fail(f"--params is not valid JSON: {exc.msg} at position {exc.pos}")
    if not isinstance(raw, dict):
        fail("--params must be a JSON object, e.g. '{\"seconds\": 3}'")
    with connect(url) as backend:
        job = backend.submit_job(job_type, raw, delay_s=delay)
    console.print(f"submitted {job.type} job [bold]{job.id}[/] ({job.status})")
    if job.status_reason:
        console.print(f"[yellow]{job.status_reason}[/]")


@app.command()
def cancel(
    job_id: str = typer.Argument(..., help="Job id (a unique prefix is enough)."),
    url: str | None = UrlOption,
) -> None:
    """Cancel a waiting job at once, or ask a running one to stop at its next check."""
    with connect(url) as backend:
        job = backend.cancel_job(job_id)
    if job.status == "cancelled":
        console.print(f"job {job.id} cancelled")
    else:
        console.print(f"job {job.id} is running; cancellation requested")


@app.command()
def retry(
    job_id: str = typer.Argument(..., help="Job id (a unique prefix is enough)."),
    url: str | None = UrlOption,
) -> None:
    """Run a failed or cancelled job again with a fresh set of attempts."""
    with connect(url) as backend:
        job = backend.retry_job(job_id)
    console.print(f"job {job.id} queued again")
    if job.status_reason and job.status_reason != "retried by hand":
        console.print(f"[yellow]{job.status_reason}[/]")


@app.command()
def watch(
    job_ids: Annotated[
        list[str] | None, typer.Argument(help="Jobs to follow; none: the latest jobs.")
    ] = None,
    interval: float = typer.Option(1.0, min=0.2, help="Seconds between refreshes."),
    limit: int = typer.Option(20, min=1, max=200, help="How many latest jobs to show."),
    url: str | None = UrlOption,
) -> None:
    """Live table with progress bars; with job ids it exits once they have all finished."""
    from rich.live import Live

    def render(items: list[JobPublic]) -> Group:
        from rich.console import Group

        stamp = datetime.now(UTC).strftime("%H:%M:%S")
        return Group(jobs_table(items, title=f"jobs at {stamp} UTC (Ctrl-C to stop)"))

    with connect(url) as backend:

        def snapshot() -> list[JobPublic]:
            if job_ids:
                return [backend.get_job(i) for i in job_ids]
            return backend.list_jobs(limit=limit).items

        items = snapshot()
        try:
            with Live(render(items), console=console, refresh_per_second=4) as live:
                while not (job_ids and all(j.status in TERMINAL for j in items)):
                    time.sleep(interval)
                    items = snapshot()
                    live.update(render(items))
        except KeyboardInterrupt:
            return
    if job_ids and any(j.status == "failed" for j in items):
        raise typer.Exit(1)
