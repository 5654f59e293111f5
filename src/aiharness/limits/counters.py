"""Fixed-window request counters: in process memory, in Redis (``INCR`` + ``EXPIRE``) or in a
PostgreSQL table (one upsert). The shared ones let several API processes count one caller
together; each ``hit`` returns the count in the current window including this request."""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aiharness.config import ConfigError

TABLE = "aiharness_rate_limits"
# Unlogged and committed without waiting for a disk flush: counts of the current minute are worth
# neither WAL nor fsync (a crash forgets them, which only forgives a few requests).
CREATE_SQL = (
    "CREATE UNLOGGED TABLE IF NOT EXISTS aiharness_rate_limits "
    "(key TEXT PRIMARY KEY, win BIGINT NOT NULL, hits INTEGER NOT NULL)"
)
# One statement: a new window resets the row's count instead of adding a row per window.
HIT_SQL = (
    "INSERT INTO aiharness_rate_limits AS t (key, win, hits) VALUES (:k, :w, 1) "
    "ON CONFLICT (key) DO UPDATE SET "
    "hits = CASE WHEN t.win = EXCLUDED.win THEN t.hits + 1 ELSE 1 END, "
    "win = EXCLUDED.win RETURNING hits"
)


class CounterStore(Protocol):
    name: str

    def hit(self, key: str, window: int, window_s: int) -> int: ...

    def close(self) -> None: ...


class MemoryCounters:
    """This process's counters (one API process: the embedded deployment)."""

    name = "memory"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, int]] = {}

    def hit(self, key: str, window: int, window_s: int) -> int:
        with self._lock:
            seen, count = self._counts.get(key, (window, 0))
            count = count + 1 if seen == window else 1
            self._counts[key] = (window, count)
            if len(self._counts) > 100_000:  # forget callers of earlier windows
                self._counts = {k: v for k, v in self._counts.items() if v[0] == window}
            return count

    def close(self) -> None:
        self._counts.clear()


class RedisCounters:
    name = "redis"

    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self.prefix = prefix
        self._client: Any = redis.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=2, health_check_interval=30
        )

    def hit(self, key: str, window: int, window_s: int) -> int:
        name = f"aiharness.{self.prefix}.ratelimit.{key}.{window}"
        pipe = self._client.pipeline(transaction=False)
        pipe.incr(name)
        pipe.expire(name, window_s * 2)
        count, _ = pipe.execute()
        return int(count)

    def close(self) -> None:
        self._client.close()


class PostgresCounters:
    """One row per caller and class, reset when its window moves on (the table stays small)."""

    name = "postgresql"

    def __init__(self, url: str, prefix: str) -> None:
        from sqlalchemy import create_engine

        self.prefix = prefix
        # One statement per hit, autocommitted: one round trip (a dropped connection fails one
        # check, which lets that request through, and the pool replaces it).
        self._engine = create_engine(
            url,
            pool_size=4,
            max_overflow=4,
            isolation_level="AUTOCOMMIT",
            connect_args={"connect_timeout": 3, "options": "-c synchronous_commit=off"},
        )
        self._ready = False

    def _create(self) -> None:
        from sqlalchemy import text

        with self._engine.begin() as conn:
            conn.execute(text(CREATE_SQL))
        self._ready = True

    def hit(self, key: str, window: int, window_s: int) -> int:
        from sqlalchemy import text

        if not self._ready:
            self._create()
        with self._engine.connect() as conn:
            count = conn.execute(
                text(HIT_SQL), {"k": f"{self.prefix}:{key}", "w": window}
            ).scalar_one()
        return int(count)

    def close(self) -> None:
        self._engine.dispose()


def open_counters(url: str | None) -> CounterStore:
    """Counters on ``url``: ``memory``/None, ``redis://``, ``postgresql://`` (``?prefix=``
    keeps installs apart, as for the job queue); SQLite means this process's memory."""
    if not url or url == "memory":
        return MemoryCounters()
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    prefix = query.pop("prefix", "aiharness")
    scheme = parts.scheme.lower()
    rest = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
    if scheme == "sqlite":
        return MemoryCounters()
    if scheme in {"redis", "rediss"}:
        return RedisCounters(rest, prefix)
    if scheme in {"postgresql", "postgres", "postgresql+psycopg"}:
        dsn = urlunsplit(("postgresql+psycopg", parts.netloc, parts.path, urlencode(query), ""))
        return PostgresCounters(dsn, prefix)
    raise ConfigError(
        f"AIHARNESS_LIMITS__STORAGE_URL {url!r}: use memory, redis://... or postgresql://..."
    )


def current_window(window_s: int, now: float | None = None) -> tuple[int, int]:
    """The window number and the seconds until it ends (at least 1)."""
    moment = time.time() if now is None else now
    window = int(moment // window_s)
    return window, max(1, int((window + 1) * window_s - moment + 0.999))
