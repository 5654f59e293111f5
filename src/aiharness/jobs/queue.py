"""The job queue: Huey carries job ids from producers to workers; one URL picks the storage.

``sqlite:///path/queue.db`` (embedded default), ``redis://host:6379/0`` and
``postgresql://user@host/db`` (Huey's Postgres storage: ``FOR UPDATE SKIP LOCKED`` to claim,
``LISTEN/NOTIFY`` to wake). ``?prefix=name`` keeps installs (and tests) apart on one server.
Our database holds the job record; a message is only "job X may run now", so a duplicate or
late message is harmless (the worker's claim is a conditional UPDATE).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aiharness.config import ConfigError

TASK_NAME = "aiharness.run_job"
DEFAULT_PREFIX = "aiharness"
PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,40}$")
# Connect fast and fail clearly: a producer must not hang when the queue is down.
CONNECT_TIMEOUT_S = 2


class QueueUnavailable(RuntimeError):
    """The queue storage cannot be reached or refused the operation; the message says why."""


class JobQueue(Protocol):
    """What the platform needs from a queue: dispatch job ids now or later, and inspect."""

    backend: str
    name: str

    def dispatch(self, job_id: str, *, delay_s: float = 0.0) -> None: ...

    def receive(self) -> str | None: ...

    def promote_due(self) -> int: ...

    def pending(self) -> int: ...

    def scheduled(self) -> int: ...

    def flush(self) -> None: ...

    def ping(self) -> str: ...

    def close(self) -> None: ...


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class HueyQueue:
    """One named queue on a Huey storage. Huey (and its connections) is created on first use."""

    backend = "huey"

    def __init__(self, *, name: str, prefix: str = DEFAULT_PREFIX) -> None:
        self.name = name
        self.prefix = prefix
        self._huey: Any = None
        self._task: Any = None
        self._executor: Callable[[str], None] | None = None
        self._lock = threading.Lock()

    # -- storage specifics -------------------------------------------------------------------
    def _make_huey(self, huey_name: str) -> Any:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    # -- common ------------------------------------------------------------------------------
    @property
    def huey(self) -> Any:
        with self._lock:
            if self._huey is None:
                try:
                    huey = self._make_huey(f"{self.prefix}_{self.name}")
                except ConfigError as exc:
                    raise QueueUnavailable(f"queue {self.describe()}: {exc}") from None
                except Exception as exc:
                    raise QueueUnavailable(
                        f"queue {self.describe()} is unreachable: {_first_line(exc)}"
                    ) from None

                def run_job(job_id: str) -> None:
                    if self._executor is None:
                        raise RuntimeError("this process has no job executor bound")
                    self._executor(job_id)

                self._task = huey.task(name=TASK_NAME)(run_job)
                self._huey = huey
            return self._huey

    def bind(self, executor: Callable[[str], None]) -> None:
        """Worker side: the function that runs a job id when its message arrives."""
        self._executor = executor

    def _guard(self, action: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except QueueUnavailable:
            raise
        except Exception as exc:
            raise QueueUnavailable(
                f"queue {self.describe()} could not {action}: {_first_line(exc)}"
            ) from None

    def dispatch(self, job_id: str, *, delay_s: float = 0.0) -> None:
        huey = self.huey

        def send() -> None:
            task = self._task.s(job_id)
            if delay_s > 0:
                # Straight into the schedule: Huey's scheduler moves it to the queue when due.
                task.eta = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(
                    seconds=delay_s
                )
                huey.add_schedule(task)
            else:
                huey.enqueue(task)

        self._guard("accept the job", send)

    def receive(self) -> str | None:
        task = self._guard("hand out a job", lambda: self.huey.dequeue())
        if task is None:
            return None
        return str(task.args[0])

    def promote_due(self) -> int:
        huey = self.huey

        def promote() -> int:
            due = huey.read_schedule()
            for task in due:
                huey.enqueue(task)
            return len(due)

        count: int = self._guard("read its schedule", promote)
        return count

    def pending(self) -> int:
        count: int = self._guard("count its jobs", lambda: self.huey.pending_count())
        return count

    def scheduled(self) -> int:
        count: int = self._guard("count its schedule", lambda: self.huey.scheduled_count())
        return count

    def flush(self) -> None:
        def flush() -> None:
            self.huey.storage.flush_queue()
            self.huey.storage.flush_schedule()

        self._guard("flush", flush)

    def ping(self) -> str:
        pending = self.pending()
        return f"{self.describe()} queue {self.name!r}: {pending} waiting"

    def close(self) -> None:
        with self._lock:
            if self._huey is not None:
                # Closing a dead connection must not mask the error that killed it.
                with contextlib.suppress(Exception):
                    self._huey.storage.close()
                self._huey = None
                self._task = None


class SqliteQueue(HueyQueue):
    """Huey's SQLite storage (WAL) in a file: the embedded default, no server needed."""

    backend = "sqlite"

    def __init__(self, *, name: str, path: Path, prefix: str = DEFAULT_PREFIX) -> None:
        super().__init__(name=name, prefix=prefix)
        self.path = path

    def describe(self) -> str:
        return f"sqlite {self.path}"

    def _make_huey(self, huey_name: str) -> Any:
        from huey import SqliteHuey

        if not self.path.parent.is_dir():
            raise ConfigError(f"folder {self.path.parent} for the queue file does not exist")
        # fsync off: a message lost to a power cut is re-sent by the workers' sweep (the job
        # record, in our database, is durable); an fsync per enqueue would cap submits at ~100/s.
        return SqliteHuey(
            huey_name, filename=str(self.path), results=False, timeout=10, fsync=False
        )


class RedisQueue(HueyQueue):
    """Huey's Redis storage: blocking pops (BRPOP) wake a worker as soon as a job arrives."""

    backend = "redis"

    def __init__(self, *, name: str, url: str, prefix: str = DEFAULT_PREFIX) -> None:
        super().__init__(name=name, prefix=prefix)
        self.url = url

    def describe(self) -> str:
        parts = urlsplit(self.url)
        return f"redis {parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path or '/0'}"

    def _make_huey(self, huey_name: str) -> Any:
        from huey import RedisHuey
        from redis import ConnectionPool

        pool = ConnectionPool.from_url(
            self.url,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            # Longer than the 1 s BRPOP wait so an idle blocking read is not cut short.
            socket_timeout=10,
            health_check_interval=30,
        )
        return RedisHuey(huey_name, results=False, connection_pool=pool, read_timeout=1)


class PostgresQueue(HueyQueue):
    """Huey's PostgreSQL storage: work on the database you already run, no Redis needed."""

    backend = "postgresql"

    def __init__(self, *, name: str, dsn: str, prefix: str = DEFAULT_PREFIX) -> None:
        super().__init__(name=name, prefix=prefix)
        self.dsn = dsn

    def describe(self) -> str:
        parts = urlsplit(self.dsn)
        return f"postgresql {parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"

    def _make_huey(self, huey_name: str) -> Any:
        from huey import Huey

        return Huey(
            huey_name,
            storage_class=_tracked_postgres_storage(),
            results=False,
            dsn=self.dsn,
            connect_timeout=CONNECT_TIMEOUT_S,
            table_prefix="huey",
            read_timeout=1,
        )


def _tracked_postgres_storage() -> type[Any]:
    """Huey's Postgres storage, but closing it also closes every thread's LISTEN connection
    (Huey leaves those to the garbage collector, which warns about unclosed connections)."""
    from huey.storage import PostgresStorage

    class TrackedPostgresStorage(PostgresStorage):  # type: ignore[misc]
        def _listen_conn(self) -> Any:
            conn = super()._listen_conn()
            with self.lock:
                tracked = self.__dict__.setdefault("_tracked_listen", [])
                if conn not in tracked:
                    tracked.append(conn)
            return conn

        def close(self) -> Any:
            with self.lock:
                tracked = self.__dict__.pop("_tracked_listen", [])
            for conn in tracked:
                self._close_quiet(conn)
            return super().close()

    return TrackedPostgresStorage


QUEUE_SCHEMES = "sqlite:///path/queue.db, redis://host:6379/0 or postgresql://user@host/db"


def open_queue(url: str, name: str = "default") -> HueyQueue:
    """Build the queue named ``name`` on the storage ``url`` selects (nothing connects yet)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    prefix = query.pop("prefix", DEFAULT_PREFIX)
    if not PREFIX_PATTERN.match(prefix):
        raise ConfigError(f"AIHARNESS_QUEUE_URL: prefix {prefix!r} must be letters, digits or _")
    scheme = parts.scheme.lower()
    rest = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
    if scheme == "sqlite":
        from sqlalchemy.engine import make_url

        # urlsplit/urlunsplit would turn sqlite:////abs/path into a host name; keep it as is.
        database = make_url(url.split("?", 1)[0]).database
        if not database or database == ":memory:":
            raise ConfigError("AIHARNESS_QUEUE_URL: a SQLite queue needs a file path")
        return SqliteQueue(name=name, path=Path(database), prefix=prefix)
    if scheme in {"redis", "rediss"}:
        return RedisQueue(name=name, url=rest, prefix=prefix)
    if scheme in {"postgresql", "postgres", "postgresql+psycopg"}:
        dsn = urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(query), ""))
        return PostgresQueue(name=name, dsn=dsn, prefix=prefix)
    raise ConfigError(f"AIHARNESS_QUEUE_URL {url!r} is not a queue URL; use one of {QUEUE_SCHEMES}")


class QueueHub:
    """Every named queue on one storage, opened lazily and cached (API and workers share it)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._queues: dict[str, HueyQueue] = {}
        self._lock = threading.Lock()
        # Validate the URL now (no connection) so a typo fails at start, not at first submit.
        self.describe = open_queue(url).describe()

    def get(self, name: str = "default") -> HueyQueue:
        with self._lock:
            queue = self._queues.get(name)
            if queue is None:
                queue = self._queues[name] = open_queue(self.url, name)
            return queue

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._queues)

    def close(self) -> None:
        with self._lock:
            for queue in self._queues.values():
                queue.close()
            self._queues.clear()
