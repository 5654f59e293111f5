"""``aiharness jobs list|show|submit|cancel|retry|watch`` and ``aiharness worker``.

Commands read and write the configured database directly (it is the source of truth), so they
work whether or not an API server is running.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import typer
from rich.console import Group
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from sqlalchemy.orm import Session

from aiharness.cli.common import console, fail, settings_or_exit
from aiharness.config import ConfigError, Settings
from aiharness.db.engine import create_db_engine, create_session_factory, session_scope
from aiharness.errors import APIError
from aiharness.jobs import service
from aiharness.jobs.queue import QueueHub
from aiharness.jobs.registry import load_job_modules
from aiharness.jobs.schemas import JOB_STATUSES, TERMINAL_STATUSES, JobCreate, JobPublic

app = typer.Typer(
    help="Background jobs: list, inspect, cancel, retry, watch.", no_args_is_help=True
)
T = TypeVar("T")

STATUS_STYLE = {
    "queued": "cyan",
    "running": "yellow",
    "retrying": "magenta",
    "succeeded": "green",
    "failed": "red",
    "cancelled": "dim",
}


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    try:
        engine = create_db_engine(settings.resolved_database_url)
    except ConfigError as exc:
        fail(str(exc), code=2)
    try:
        with session_scope(create_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def _call(fn: Callable[[], T]) -> T:
    """Service errors (not found, wrong state, bad params, database down) as one clean line."""
    from sqlalchemy.exc import OperationalError

    try:
        return fn()
    except APIError as exc:
        fail(exc.message)
    except ConfigError as exc:
        fail(str(exc), code=2)
    except OperationalError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        fail(f"cannot use the database: {reason} (run `aiharness db upgrade`?)", code=2)


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
    p = job.progress
    if p.total:
        return ProgressBar(total=p.total, completed=min(p.done, p.total), width=20)
    return str(p.done) if p.done else "-"


def jobs_table(items: list[JobPublic], title: str | None = None) -> Table:
    table = Table(title=title, show_lines=False)
    for column in ("id", "type", "status", "progress", "done/total", "attempts", "age", "note"):
        table.add_column(column, no_wrap=column != "note")
    for job in items:
        p = job.progress
        note = job.error or job.status_reason or p.message or ""
        rate = f" {p.rate_per_s:.1f}/s" if p.rate_per_s else ""
        eta = f" eta {p.eta_s:.0f}s" if p.eta_s is not None else ""
        table.add_row(
            job.id[:12],
            job.type,
            _status(job),
            _progress_cell(job),
            f"{p.done}/{p.total if p.total is not None else '?'}{rate}{eta}",
            f"{job.attempts}/{job.max_attempts}",
            _ago(job.created_at),
            note[:80],
        )
    return table


@app.command("list")
def list_(
    status: str | None = typer.Option(None, help=f"Only this status: {', '.join(JOB_STATUSES)}."),
    type_: str | None = typer.Option(None, "--type", help="Only this job type."),
    limit: int = typer.Option(50, min=1, max=500, help="How many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List jobs, newest first."""
    if status is not None and status not in JOB_STATUSES:
        fail(f"unknown status {status!r}; use one of {', '.join(JOB_STATUSES)}")
    settings = settings_or_exit()
    with _session(settings) as session:
        page = _call(
            lambda: service.list_jobs(session=session, status=status, job_type=type_, limit=limit)
        )
    if as_json:
        console.print_json(page.model_dump_json())
        return
    console.print(jobs_table(page.items, title=f"{len(page.items)} of {page.total} jobs"))


@app.command()
def show(job_id: str = typer.Argument(..., help="Job id (a unique prefix is enough).")) -> None:
    """Show one job: parameters, progress, result or error with traceback, and its log tail."""
    settings = settings_or_exit()
    with _session(settings) as session:
        full = _call(lambda: service.find_job_id(session=session, prefix=job_id))
        job = _call(lambda: service.get_job(session=session, job_id=full))
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
    params: str = typer.Option("{}", "--params", help="Parameters as a JSON object."),
    delay: float = typer.Option(0.0, min=0, help="Seconds to wait before it may run."),
) -> None:
    """Submit a job; unknown types and invalid parameters are refused before anything is stored."""
    try:
        raw = json.loads(params)
    except json.JSONDecodeError as exc:
        fail(f"--params is not valid JSON: {exc.msg} at position {exc.pos}")
    if not isinstance(raw, dict):
        fail("--params must be a JSON object, e.g. '{\"seconds\": 3}'")
    settings = settings_or_exit()
    _call(lambda: load_job_modules(settings.job_modules))
    queues = _call(lambda: QueueHub(settings.resolved_queue_url))
    with _session(settings) as session:
        job = _call(
            lambda: service.submit_job(
                session=session,
                queues=queues,
                job_in=JobCreate(type=job_type, params=raw, delay_s=delay),
            )
        )
    queues.close()
    assert job is not None
    console.print(f"submitted {job.type} job [bold]{job.id}[/] ({job.status})")
    if job.status_reason:
        console.print(f"[yellow]{job.status_reason}[/]")


@app.command()
def cancel(job_id: str = typer.Argument(..., help="Job id (a unique prefix is enough).")) -> None:
    """Cancel a waiting job at once, or ask a running one to stop at its next check."""
    settings = settings_or_exit()
    with _session(settings) as session:
        full = _call(lambda: service.find_job_id(session=session, prefix=job_id))
        job = _call(lambda: service.cancel_job(session=session, job_id=full))
    if job.status == "cancelled":
        console.print(f"job {job.id} cancelled")
    else:
        console.print(f"job {job.id} is running; cancellation requested")


@app.command()
def retry(job_id: str = typer.Argument(..., help="Job id (a unique prefix is enough).")) -> None:
    """Run a failed or cancelled job again with a fresh set of attempts."""
    settings = settings_or_exit()
    _call(lambda: load_job_modules(settings.job_modules))
    queues = _call(lambda: QueueHub(settings.resolved_queue_url))
    with _session(settings) as session:
        full = _call(lambda: service.find_job_id(session=session, prefix=job_id))
        job = _call(lambda: service.retry_job(session=session, queues=queues, job_id=full))
    queues.close()
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
) -> None:
    """Live table with progress bars; with job ids it exits once they have all finished."""
    settings = settings_or_exit()

    def snapshot(session: Session) -> list[JobPublic]:
        if job_ids:
            ids = [service.find_job_id(session=session, prefix=i) for i in job_ids]
            return [service.get_job(session=session, job_id=i) for i in ids]
        return service.list_jobs(session=session, limit=limit).items

    def render(items: list[JobPublic]) -> Group:
        stamp = datetime.now(UTC).strftime("%H:%M:%S")
        return Group(jobs_table(items, title=f"jobs at {stamp} UTC (Ctrl-C to stop)"))

    with _session(settings) as session:
        items = _call(lambda: snapshot(session))
        try:
            with Live(render(items), console=console, refresh_per_second=4) as live:
                while True:
                    if job_ids and all(j.status in TERMINAL_STATUSES for j in items):
                        break
                    time.sleep(interval)
                    session.expire_all()
                    items = _call(lambda: snapshot(session))
                    live.update(render(items))
        except KeyboardInterrupt:
            return
    failed = [j for j in items if j.status == "failed"]
    if job_ids and failed:
        raise typer.Exit(1)


def worker(
    concurrency: int | None = typer.Option(
        None,
        "--concurrency",
        "-c",
        min=1,
        max=64,
        help="Job threads (AIHARNESS_WORKER_CONCURRENCY).",
    ),
    queue: str = typer.Option("default", "--queue", "-q", help="Queue to consume."),
    parent_pid: int | None = typer.Option(None, "--parent-pid", hidden=True),
) -> None:
    """Run a worker: consume jobs from the configured queue until SIGTERM or Ctrl-C."""
    import logging

    from aiharness.jobs.registry import QUEUE_PATTERN
    from aiharness.jobs.worker import WorkerProcess
    from aiharness.observability.logging import configure_logging

    if not QUEUE_PATTERN.match(queue):
        fail(f"queue name {queue!r} must be 1-64 lowercase letters, digits or _")
    settings = settings_or_exit()
    configure_logging(settings.log_level, settings.log_format)
    if settings.log_level != "debug":
        # Huey logs every task at INFO; at hundreds of jobs a second that is only noise.
        logging.getLogger("huey").setLevel(logging.WARNING)
    try:
        process = WorkerProcess(
            settings, concurrency=concurrency, queue=queue, parent_pid=parent_pid
        )
        process.run()
    except ConfigError as exc:
        fail(str(exc), code=2)
