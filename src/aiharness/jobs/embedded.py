"""The embedded worker: ``aiharness up`` runs ``aiharness worker`` as a supervised child process,
so job handlers never share the API's GIL or event loop, and a crash is restarted with backoff."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

from aiharness.config import ENV_PREFIX, Settings, environment_of
from aiharness.jobs.settings import JobsSettings
from aiharness.observability.logging import get_logger

log = get_logger("aiharness.jobs.embedded")
STOP_GRACE_S = 15.0


def settings_env(settings: Settings) -> dict[str, str]:
    """The child's environment: this process's, with every setting pinned to the parent's value
    (settings may have come from arguments, not the environment)."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(ENV_PREFIX)}
    env.update(environment_of(settings))
    return env


class EmbeddedWorker:
    """A ``BackgroundService``: start() spawns the worker child, stop() asks it to finish."""

    name = "embedded-worker"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None
        self.restarts = 0

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "aiharness",
            "worker",
            "--concurrency",
            str(JobsSettings.of(self.settings).worker_concurrency),
            "--parent-pid",
            str(os.getpid()),
        ]

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.command(), env=settings_env(self.settings))

    def start(self) -> None:
        self._stopping.clear()
        self.process = self._spawn()
        self._supervisor = threading.Thread(
            target=self._supervise, name="embedded-worker-supervisor", daemon=True
        )
        self._supervisor.start()

    def _supervise(self) -> None:
        delay = 1.0
        while not self._stopping.is_set():
            process = self.process
            if process is None:
                return
            code = process.wait()
            if self._stopping.is_set():
                return
            log.warning("embedded worker exited; restarting", code=code, in_s=delay)
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, 30.0)
            self.restarts += 1
            self.process = self._spawn()

    def stop(self) -> None:
        self._stopping.set()
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)  # graceful: running jobs finish or are handed back
        try:
            process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            log.warning("embedded worker did not stop in time; killing it", pid=process.pid)
            process.kill()
            process.wait(timeout=5)
        if self._supervisor is not None:
            self._supervisor.join(timeout=2)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None
