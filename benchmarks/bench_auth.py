"""Added latency of authentication per request: API-key lookup with the in-process cache.

Two apps in one run, on temporary data dirs: one in open mode (loopback, no credentials) and
one with sign-in required, called with a viewer's API key. The same cheap request
(``GET /v1/models``) goes to both, interleaved, through the in-process ASGI client; the
difference of the percentiles is what authentication adds. It also times the resolver alone
(``AccessRuntime.resolve`` + the permission check) with the cache warm, and with the cache off
(every request reads the key from SQLite), which is the cost of a key's first request.

    uv run python benchmarks/bench_auth.py --requests 3000

Target (issue 12): <= 0.5 ms added per request (p50 and p99) with caching.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from statistics import quantiles
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.requests import Request

from aiharness.access import service
from aiharness.access.runtime import AccessRuntime
from aiharness.app import create_app
from aiharness.features import make_settings
from aiharness.principal import check_permission

PATH = "/v1/models"


def _app(data_dir: Path, **access: Any) -> FastAPI:
    settings = make_settings(
        data_dir=data_dir,
        log_level="error",
        log_format="json",
        jobs={"worker_enabled": False},
        knowledge={"demo_ingest": "off"},
        access=access,
    )
    return create_app(settings)


def _key(app: FastAPI) -> str:
    runtime: AccessRuntime = app.state.platform.get(AccessRuntime)
    with app.state.platform.unit_of_work() as session:
        _row, secret = service.create_key(
            session=session, known=runtime.permissions, name="bench", username=None, role="viewer"
        )
    return secret


def _percentiles(samples_ms: list[float]) -> tuple[float, float]:
    cuts = quantiles(samples_ms, n=100, method="inclusive")
    return cuts[49], cuts[98]


def _time(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def _request(key: str) -> Request:
    headers = [(b"authorization", f"Bearer {key}".encode()), (b"host", b"bench")]
    return Request({"type": "http", "method": "GET", "path": PATH, "headers": headers})


def bench_resolver(runtime: AccessRuntime, key: str, n: int) -> list[float]:
    """Resolve + check, ``n`` times, in one event loop (what ``authorize`` does per request)."""

    async def run() -> list[float]:
        samples = []
        for _ in range(n):
            started = time.perf_counter()
            principal = await runtime.resolve(_request(key))
            check_permission(principal, "models:use")
            samples.append((time.perf_counter() - started) * 1000)
        return samples

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="Requests per app.")
    args = parser.parse_args()
    n = args.requests
    with tempfile.TemporaryDirectory() as tmp:
        open_app = _app(Path(tmp) / "open", mode="open")
        auth_app = _app(Path(tmp) / "auth", mode="required")
        nocache_app = _app(Path(tmp) / "nocache", mode="required", cache_s=0)
        with (
            TestClient(open_app) as open_client,
            TestClient(auth_app) as auth_client,
            TestClient(nocache_app) as nocache_client,
        ):
            key = _key(auth_app)
            nocache_key = _key(nocache_app)
            headers = {"Authorization": f"Bearer {key}"}
            assert auth_client.get(PATH).status_code == 401
            assert auth_client.get(PATH, headers=headers).status_code == 200
            for _ in range(200):  # warm both
                open_client.get(PATH)
                auth_client.get(PATH, headers=headers)
            open_ms: list[float] = []
            auth_ms: list[float] = []
            for _ in range(n):
                open_ms.append(_time(lambda: open_client.get(PATH)))
                auth_ms.append(_time(lambda: auth_client.get(PATH, headers=headers)))
            resolver_ms = bench_resolver(auth_app.state.platform.get(AccessRuntime), key, n)
            uncached_ms = bench_resolver(
                nocache_app.state.platform.get(AccessRuntime), nocache_key, min(n, 1000)
            )
            assert nocache_client.get(PATH, headers={"Authorization": f"Bearer {nocache_key}"})

    o50, o99 = _percentiles(open_ms)
    a50, a99 = _percentiles(auth_ms)
    r50, r99 = _percentiles(resolver_ms)
    u50, u99 = _percentiles(uncached_ms)
    print(f"GET {PATH}, {n} requests each, interleaved, in-process ASGI client")
    print(f"  open mode (no credentials)     p50 {o50:7.3f} ms   p99 {o99:7.3f} ms")
    print(f"  API key, cached                p50 {a50:7.3f} ms   p99 {a99:7.3f} ms")
    print(f"  added by authentication        p50 {a50 - o50:7.3f} ms   p99 {a99 - o99:7.3f} ms")
    print("resolver + permission check alone")
    print(f"  cached key                     p50 {r50:7.3f} ms   p99 {r99:7.3f} ms")
    print(f"  uncached (SQLite lookup)       p50 {u50:7.3f} ms   p99 {u99:7.3f} ms")
    print("target: <= 0.5 ms added per request with caching")


if __name__ == "__main__":
    main()
