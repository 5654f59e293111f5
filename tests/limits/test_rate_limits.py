"""Rate limits: per signed-in caller or per client address, by class (api, v1, login), a 429
with Retry-After in each surface's shape, and counters shared by several API processes through
the job queue's real Redis or PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from aiharness.app import create_app
from aiharness.config import Settings
from aiharness.features import FEATURES, make_settings
from aiharness.limits.counters import (
    MemoryCounters,
    PostgresCounters,
    RedisCounters,
    current_window,
    open_counters,
)
from aiharness.limits.throttle import RateLimiter, request_class
from aiharness.platform import Platform
from aiharness.principal import LOCAL_PRINCIPAL, Principal

pytestmark = pytest.mark.integration
# The app without the access feature: the tests install their own principal resolver.
OPEN_FEATURES = tuple(f for f in FEATURES if f.name != "access")


def away_from_a_window_edge(margin_s: float = 8.0) -> None:
    """Counts reset each minute: start a test's requests well inside one window."""
    _window, left_s = current_window(60)
    if left_s < margin_s:
        time.sleep(left_s + 0.1)


class HeaderResolver:
    """Callers named by an X-Test-User header (a signed-in key), else the open principal."""

    async def resolve(self, request: Request) -> Principal:
        name = request.headers.get("x-test-user")
        if not name:
            return LOCAL_PRINCIPAL
        return Principal(id=f"key-{name}", name=name, authenticated=True, via="key")


def _settings(tmp_path: Path, queue_url: str | None = None, **limits: Any) -> Settings:
    jobs: dict[str, Any] = {"worker_enabled": False}
    if queue_url:
        jobs["queue_url"] = queue_url
    return make_settings(
        data_dir=tmp_path / "data",
        log_format="json",
        jobs=jobs,
        knowledge={"demo_ingest": "off"},
        limits=limits,
    )


@contextmanager
def _client(settings: Settings) -> Iterator[TestClient]:
    away_from_a_window_edge()
    app = create_app(settings, features=OPEN_FEATURES)
    platform: Platform = app.state.platform
    platform.use_principal_resolver(HeaderResolver())
    with TestClient(app) as client:
        yield client


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[TestClient]:
    with _client(_settings(tmp_path, api_per_minute=3, v1_per_minute=2)) as client:
        yield client


def test_the_request_over_the_limit_is_a_429_with_retry_after(limited: TestClient) -> None:
    for _ in range(3):
        assert limited.get("/api/jobs").status_code == 200
    refused = limited.get("/api/collections")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    body = refused.json()["error"]
    assert body["code"] == "rate_limited" and body["details"]["limit"] == 3
    assert "per minute" in body["message"]
    # Monitoring is never limited.
    assert limited.get("/health").status_code == 200
    assert limited.get("/ready").status_code in (200, 503)


def test_each_signed_in_caller_has_its_own_count(limited: TestClient) -> None:
    for _ in range(3):
        assert limited.get("/api/jobs", headers={"x-test-user": "kim"}).status_code == 200
    assert limited.get("/api/jobs", headers={"x-test-user": "kim"}).status_code == 429
    assert limited.get("/api/jobs", headers={"x-test-user": "lee"}).status_code == 200
    # Nobody signed in: counted by client address, apart from the keys.
    assert limited.get("/api/jobs").status_code == 200


def test_v1_has_its_own_limit_and_openai_shape(limited: TestClient) -> None:
    for _ in range(2):
        assert limited.get("/v1/models").status_code == 200
    refused = limited.get("/v1/models")
    assert refused.status_code == 429
    assert refused.json()["error"]["type"] == "rate_limit_error"
    assert "retry-after" in refused.headers
    assert limited.get("/api/jobs").status_code == 200  # the api class still has room


def test_a_limit_of_zero_means_no_limit(tmp_path: Path) -> None:
    with _client(_settings(tmp_path, api_per_minute=0)) as client:
        assert all(client.get("/api/jobs").status_code == 200 for _ in range(30))


def test_the_openapi_schema_documents_the_429(limited: TestClient) -> None:
    paths = limited.get("/openapi.json").json()["paths"]
    assert "429" in paths["/api/jobs"]["get"]["responses"]
    assert "429" not in paths.get("/health", {}).get("get", {}).get("responses", {})


@pytest.mark.parametrize(
    ("path", "method", "kind"),
    [
        ("/api/jobs", "GET", "api"),
        ("/", "GET", "api"),
        ("/v1/chat/completions", "POST", "v1"),
        ("/login", "POST", "login"),
        ("/login", "GET", "api"),
        ("/first-run", "POST", "login"),
        ("/health", "GET", None),
        ("/metrics", "GET", None),
        ("/static/app.js", "GET", None),
    ],
)
def test_request_classes(path: str, method: str, kind: str | None) -> None:
    assert request_class(path, method) == kind


# -- the counter stores -------------------------------------------------------------------------
def test_windows_reset_the_count_in_memory() -> None:
    counters = MemoryCounters()
    assert [counters.hit("k", 10, 60) for _ in range(3)] == [1, 2, 3]
    assert counters.hit("k", 11, 60) == 1
    assert counters.hit("other", 11, 60) == 1


def test_the_window_arithmetic() -> None:
    assert current_window(60, now=120.0) == (2, 60)
    assert current_window(60, now=179.5) == (2, 1)


def test_an_unknown_storage_url_is_a_clear_error() -> None:
    from aiharness.config import ConfigError

    with pytest.raises(ConfigError, match="STORAGE_URL"):
        open_counters("ftp://nowhere")
    assert isinstance(open_counters("sqlite:///x/queue.db"), MemoryCounters)


def test_redis_counters_count_and_reset(redis_queue_url: str) -> None:
    counters = open_counters(redis_queue_url)
    assert isinstance(counters, RedisCounters)
    try:
        assert [counters.hit("k", 5, 60) for _ in range(3)] == [1, 2, 3]
        assert counters.hit("k", 6, 60) == 1
    finally:
        counters.close()


def test_postgres_counters_count_and_reset(postgres_queue_url: str) -> None:
    counters = open_counters(postgres_queue_url)
    assert isinstance(counters, PostgresCounters)
    try:
        assert [counters.hit("k", 5, 60) for _ in range(3)] == [1, 2, 3]
        assert counters.hit("k", 6, 60) == 1
        assert counters.hit("k2", 6, 60) == 1
    finally:
        counters.close()


@pytest.mark.parametrize("storage", ["redis", "postgres"])
def test_two_api_processes_share_one_count(
    storage: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Two apps (two API processes) on one queue storage: the caller's requests add up."""
    queue_url: str = request.getfixturevalue(f"{storage}_queue_url")
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    with ExitStack() as stack:
        clients = []
        for n in range(2):
            settings = _settings(tmp_path / f"p{n}", queue_url, api_per_minute=4)
            settings = settings.model_copy(update={"database_url": database})
            clients.append(stack.enter_context(_client(settings)))
        limiter = clients[0].app.state.throttle  # type: ignore[attr-defined]
        assert isinstance(limiter, RateLimiter) and limiter.counters.name != "memory"
        seen = [clients[n % 2].get("/api/jobs", headers={"x-test-user": "kim"}) for n in range(5)]
        assert [r.status_code for r in seen] == [200, 200, 200, 200, 429]


def test_unreachable_counters_do_not_refuse_requests(tmp_path: Path) -> None:
    settings = _settings(tmp_path, api_per_minute=1, storage_url="redis://127.0.0.1:1/0")
    with _client(settings) as client:
        assert [client.get("/api/jobs").status_code for _ in range(3)] == [200, 200, 200]
