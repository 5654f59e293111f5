"""Real ``aiharness worker`` subprocesses for tests and benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from aiharness.config import Settings
from aiharness.jobs.embedded import settings_env

REPO_ROOT = Path(__file__).resolve().parents[2]


def start_worker(
    settings: Settings, log_path: Path, *, concurrency: int = 2, queue: str = "default"
) -> subprocess.Popen[bytes]:
    """``python -m aiharness worker`` with every setting passed through the environment."""
    env = settings_env(settings)
    # The test handlers live in tests/, importable from the repository root.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log_file:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aiharness",
                "worker",
                "--concurrency",
                str(concurrency),
                "--queue",
                queue,
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )


def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def stop(process: subprocess.Popen[bytes], timeout_s: float = 20) -> int | None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
