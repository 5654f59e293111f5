"""Wall time of CLI commands as a user runs them (a fresh Python process each time).

Run: uv run python benchmarks/bench_cli.py [--runs 7]
Targets (issue 13): `aiharness --help` and `aiharness version` <= 0.4 s, a `--url` command
<= 0.8 s. The `--url` commands run against an `aiharness up` this script starts on a free port.
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

CLI = [sys.executable, "-m", "aiharness"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def timed(args: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    """Median and worst seconds over ``runs`` (after one warm-up run for the OS file cache)."""
    samples = []
    for i in range(runs + 1):
        started = time.perf_counter()
        result = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed: {result.stderr.strip()[:300]}")
        if i:
            samples.append(elapsed)
    return statistics.median(samples), max(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aiharness-bench-cli-") as tmp:
        data = Path(tmp) / "data"
        port = free_port()
        env = {
            **os.environ,
            "AIHARNESS_DATA_DIR": str(data),
            "AIHARNESS_PORT": str(port),
            "AIHARNESS_KNOWLEDGE__DEMO_INGEST": "off",
            "AIHARNESS_LOG_LEVEL": "warning",
        }
        server = subprocess.Popen(
            [*CLI, "up", "--no-worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            cases = [
                ("aiharness --help", ["--help"], 0.4),
                ("aiharness version", ["version"], 0.4),
                ("aiharness jobs list --url", ["jobs", "list", "--url", url], 0.8),
                ("aiharness collections list --url", ["collections", "list", "--url", url], 0.8),
                ("aiharness jobs list (local)", ["jobs", "list"], None),
            ]
            print(f"{'command':<36} {'median':>8} {'worst':>8} {'target':>8}")
            for name, argv, target in cases:
                median, worst = timed(argv, env, args.runs)
                goal = f"{target:.1f} s" if target else "-"
                print(f"{name:<36} {median:>7.2f}s {worst:>7.2f}s {goal:>8}")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
