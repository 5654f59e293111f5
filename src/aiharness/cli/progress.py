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
POLL_S = 0.5


def progress_bars() -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


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
