"""``aiharness worker``: run jobs from the configured queue until SIGTERM or Ctrl-C."""

from __future__ import annotations

import typer

from aiharness.cli.common import fail, local_platform, settings_or_exit


def worker(
    concurrency: int | None = typer.Option(
        None,
        "--concurrency",
        "-c",
        min=1,
        max=64,
        help="Job threads (AIHARNESS_JOBS__WORKER_CONCURRENCY).",
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
    with local_platform("worker", settings=settings, new_data_dir_ok=True) as platform:
        WorkerProcess(platform, concurrency=concurrency, queue=queue, parent_pid=parent_pid).run()
