"""Progress bars for jobs the CLI waits on."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from aiharness.cli.common import console

if TYPE_CHECKING:
    from rich.progress import Progress

    from aiharness.cli.backend import Backend
    from aiharness.jobs.schemas import JobDetail

TERMINAL_JOB = frozenset({"succeeded", "failed", "cancelled"})
# At most one poll a second, whatever is followed: each poll is one request to the platform.
POLL_S = 1.0


def rate_line(*, chunks: int, settled: int, total: int, elapsed_s: float) -> str:
    """The real rate (chunks done / wall time since the start) and the ETA it gives.

    Job-reported rates are per job and stay after a job ends; summing them overstated the rate
    (222 chunks/s shown at a real 1.5, issue 14).
    """
    if elapsed_s <= 0:
        return ""
    parts = [f"{chunks / elapsed_s:.1f} chunks/s"]
    if 0 < settled < total:
        parts.append(f"ETA {format_duration((total - settled) * elapsed_s / settled)}")
    return " · ".join(parts)


def format_duration(seconds: float) -> str:
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def progress_bars(*, eta: bool = True) -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
    ]
    if eta:
        columns.append(TimeRemainingColumn())
    return Progress(*columns, console=console, transient=False)


def follow_job(backend: Backend, job_id: str, unit: str = "passages") -> JobDetail:
    """Poll one job until it ends, drawing its progress; returns its last state."""
    with progress_bars() as progress:
        task = progress.add_task(unit, total=None, rate="")
        while True:
            job = backend.get_job(job_id)
            p = job.progress
            rate = f"{p.rate_per_s:.1f} {unit}/s" if p.rate_per_s else ""
            progress.update(task, completed=p.done, total=p.total, rate=rate)
            if job.status in TERMINAL_JOB:
                return job
            time.sleep(POLL_S)
