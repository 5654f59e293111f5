"""API process CPU while the CLI follows an ingest through ``--url``, old polling against new.

Starts ``aiharness up`` (API plus its worker process) on a free port with a fresh data dir,
writes ``--files`` tiny text files, and ingests them twice into two collections:

- ``legacy``: the files uploaded the way the CLI does, then followed as the CLI did before
  issue 14 (``GET /api/documents/{id}`` for every document and ``GET /api/jobs/{id}`` for every
  job, every 0.5 s);
- ``cli``: ``aiharness ingest --url`` as shipped (one progress aggregate a second).

Prints, for each: wall seconds, documents/s end to end, API process CPU seconds (user + system
from /proc, the worker process excluded) and that CPU as a share of one core, and the number of
HTTP requests the API answered (from its access log). ``--local`` also times the same ingest in
local mode (no server) for the documents/s comparison.

    uv run python benchmarks/bench_remote_ingest.py --files 200
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

CLI = [sys.executable, "-m", "aiharness"]
LEGACY_POLL_S = 0.5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (not its children), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def write_files(folder: Path, n: int, tag: str) -> None:
    folder.mkdir(parents=True)
    for i in range(n):
        # Distinct content per file and per run: no file is a duplicate of another.
        (folder / f"note-{i:04d}.txt").write_text(
            f"{tag} 점검 기록 {i}: 펌프 P-{100 + i % 50} 베어링 온도 {60 + i % 20}도, "
            f"inspection note {i} for pump P-{100 + i % 50}, vibration {i % 7}.{i % 10} mm/s.",
            encoding="utf-8",
        )


def requests_in_log(log: Path) -> int:
    count = 0
    for line in log.read_text(errors="replace").splitlines():
        try:
            if json.loads(line).get("event") == "request":
                count += 1
        except ValueError:
            continue
    return count


def legacy_follow(url: str, folder: Path, collection: str, env: dict[str, str]) -> None:
    """Upload with the shipped client, then poll as the CLI did before issue 14."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    from aiharness.cli.client import PlatformClient

    client = PlatformClient(url)
    try:
        responses = client.ingest([folder], collection)
        ids = [d.document_id for r in responses for d in r.documents if d.document_id]
        jobs = [j for r in responses for j in r.job_ids]
        while True:
            docs = [client._json("GET", f"/api/documents/{i}") for i in ids]
            states = [client._json("GET", f"/api/jobs/{j}")["status"] for j in jobs]
            if all(d["status"] in ("ready", "failed") for d in docs) or all(
                s in ("succeeded", "failed", "cancelled") for s in states
            ):
                return
            time.sleep(LEGACY_POLL_S)
    finally:
        client.close()


def measure(label: str, run: object, pid: int, log: Path, files: int) -> None:
    before_cpu, before_requests = cpu_seconds(pid), requests_in_log(log)
    started = time.perf_counter()
    run()  # type: ignore[operator]
    wall = time.perf_counter() - started
    cpu = cpu_seconds(pid) - before_cpu
    requests = requests_in_log(log) - before_requests
    print(
        f"{label:<8} wall {wall:7.1f} s  {files / wall:6.2f} docs/s  API CPU {cpu:6.2f} s "
        f"({100 * cpu / wall:5.1f} % of a core)  {requests:6d} requests",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--local", action="store_true", help="also time local mode")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aiharness-bench-ingest-") as tmp:
        root = Path(tmp)
        port = free_port()
        env = {
            **os.environ,
            "AIHARNESS_DATA_DIR": str(root / "data"),
            "AIHARNESS_PORT": str(port),
            "AIHARNESS_LOG_FORMAT": "json",
            "AIHARNESS_DEMO_INGEST": "off",
            "COLUMNS": "120",
        }
        log = root / "up.log"
        with log.open("w") as out:
            server = subprocess.Popen([*CLI, "up"], stdout=out, stderr=subprocess.STDOUT, env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.3)
            else:
                print(log.read_text()[-3000:])
                return 1
            print(f"{args.files} tiny files per run; API process pid {server.pid}")
            # Warm the worker's model first, so neither run pays for loading it.
            warm = root / "warm"
            write_files(warm, 2, "warm")
            subprocess.run(
                [*CLI, "ingest", str(warm), "-c", "warm", "--url", url],
                env=env,
                capture_output=True,
                check=True,
            )
            legacy_dir, cli_dir = root / "legacy", root / "cli"
            write_files(legacy_dir, args.files, "legacy")
            write_files(cli_dir, args.files, "cli")
            measure(
                "legacy",
                lambda: legacy_follow(url, legacy_dir, "legacy", env),
                server.pid,
                log,
                args.files,
            )
            measure(
                "cli",
                lambda: subprocess.run(
                    [*CLI, "ingest", str(cli_dir), "-c", "cli", "--url", url],
                    env=env,
                    capture_output=True,
                    check=True,
                ),
                server.pid,
                log,
                args.files,
            )
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        if args.local:
            local_dir = root / "local"
            write_files(local_dir, args.files, "local")
            local_env = {**env, "AIHARNESS_DATA_DIR": str(root / "local-data")}
            started = time.perf_counter()
            subprocess.run(
                [*CLI, "ingest", str(local_dir), "-c", "local"],
                env=local_env,
                capture_output=True,
                check=True,
            )
            wall = time.perf_counter() - started
            print(
                f"{'local':<8} wall {wall:7.1f} s  {args.files / wall:6.2f} docs/s "
                "(in-process worker, model load included)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
