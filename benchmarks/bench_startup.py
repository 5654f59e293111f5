"""Start-up time of `aiharness up`: seconds to /health and /ready, fresh and existing data dir.

Run: uv run python benchmarks/bench_startup.py [--runs 3]
(Install time is separate: time `make install` in a fresh clone, with and without a uv cache.)
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_once(data_dir: Path) -> tuple[float, float]:
    """Seconds from launch to the first 200 from /health, and from /ready."""
    port = free_port()
    env = {
        **os.environ,
        "AIHARNESS_DATA_DIR": str(data_dir),
        "AIHARNESS_PORT": str(port),
        "AIHARNESS_DEMO_INGEST": "off",
        "AIHARNESS_LOG_LEVEL": "warning",
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "aiharness", "up"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    health = ready = float("nan")
    try:
        deadline = started + 120
        while time.perf_counter() < deadline and ready != ready:  # NaN until set
            try:
                if health != health and httpx.get(f"http://127.0.0.1:{port}/health").is_success:
                    health = time.perf_counter() - started
                if health == health and httpx.get(f"http://127.0.0.1:{port}/ready").is_success:
                    ready = time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    return health, ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {args.runs} runs each")
    print(f"{'data dir':<10} {'/health s (median)':>20} {'/ready s (median)':>20}")
    with tempfile.TemporaryDirectory() as tmp:
        fresh = [start_once(Path(tmp) / f"fresh-{i}") for i in range(args.runs)]
        existing = [start_once(Path(tmp) / "fresh-0") for _ in range(args.runs)]
    for label, runs in (("fresh", fresh), ("existing", existing)):
        health = statistics.median(r[0] for r in runs)
        ready = statistics.median(r[1] for r in runs)
        print(f"{label:<10} {health:>20.2f} {ready:>20.2f}")
    print("target: make run serves /health within 60 s of a warm install")


if __name__ == "__main__":
    main()
