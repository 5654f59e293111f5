"""Rate-limit figures: the time the per-request check adds (p50/p99), with counters in this
process's memory, in Redis and in PostgreSQL (the two shared stores), measured on the check
itself as every mounted route runs it, and end to end on ``GET /api/jobs`` with limits on and
off in the same run.

    uv run python benchmarks/bench_limits.py [--requests 2000]
    AIHARNESS_TEST_REDIS_URL=redis://... AIHARNESS_TEST_POSTGRES_URL=postgresql://... (optional)

A store that cannot be reached is reported and skipped. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from starlette.requests import Request

from aiharness.features import make_settings
from aiharness.limits.counters import CounterStore, MemoryCounters, open_counters
from aiharness.limits.settings import LimitsSettings
from aiharness.limits.throttle import RateLimiter

REDIS_URL = os.environ.get("AIHARNESS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get(
    "AIHARNESS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _request(client: str) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/jobs",
        "headers": [],
        "query_string": b"",
        "client": (client, 50000),
        "state": {},
    }
    return Request(scope)


def _quantiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def _time_checks(limiter: RateLimiter, n: int) -> list[float]:
    took: list[float] = []
    for i in range(n):
        request = _request(f"10.0.{i % 200}.{i % 7}")  # 1,400 callers: realistic key spread
        started = time.perf_counter()
        await limiter.check(request)
        took.append((time.perf_counter() - started) * 1000)
    return took


def bench_store(name: str, store: CounterStore | None, n: int) -> None:
    if store is None:
        print(f"{name:<11} skipped")
        return
    section = LimitsSettings(api_per_minute=10**9)
    limiter = RateLimiter(section, store)
    try:
        asyncio.run(_time_checks(limiter, 50))  # connect, create the table
        p50, p99 = _quantiles(asyncio.run(_time_checks(limiter, n)))
        print(f"{name:<11} check p50 {p50:.3f} ms  p99 {p99:.3f} ms  ({n} requests)")
    except Exception as exc:
        print(f"{name:<11} unavailable: {str(exc).splitlines()[0][:100]}")
    finally:
        limiter.close()


def bench_end_to_end(n: int) -> None:
    from fastapi.testclient import TestClient

    from aiharness.app import create_app

    results: dict[str, tuple[float, float]] = {}
    for label, per_minute in (("limits off", 0), ("limits on", 10**9)):
        data = Path(tempfile.mkdtemp()) / "data"
        settings = make_settings(
            data_dir=data,
            log_level="error",
            jobs={"worker_enabled": False},
            knowledge={"demo_ingest": "off"},
            limits={"api_per_minute": per_minute},
        )
        with TestClient(create_app(settings)) as client:
            for _ in range(50):
                client.get("/api/jobs")
            took = []
            for _ in range(n):
                started = time.perf_counter()
                client.get("/api/jobs")
                took.append((time.perf_counter() - started) * 1000)
        results[label] = _quantiles(took)
    off, on = results["limits off"], results["limits on"]
    print(
        f"GET /api/jobs (memory counters, in-process client): off p50 {off[0]:.2f} ms, "
        f"on p50 {on[0]:.2f} ms (added {on[0] - off[0]:+.2f} ms); "
        f"p99 {off[1]:.2f} -> {on[1]:.2f} ms"
    )


def _redis() -> CounterStore | None:
    try:
        return open_counters(f"{REDIS_URL}?prefix=bench{uuid.uuid4().hex[:6]}")
    except Exception:
        return None


def _postgres() -> CounterStore | None:
    try:
        return open_counters(f"{POSTGRES_URL}?prefix=bench{uuid.uuid4().hex[:6]}")
    except Exception:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    bench_store("memory", MemoryCounters(), args.requests)
    bench_store("redis", _redis(), args.requests)
    bench_store("postgresql", _postgres(), args.requests)
    bench_end_to_end(min(args.requests, 1000))


if __name__ == "__main__":
    main()
