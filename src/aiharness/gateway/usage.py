"""Usage records and metrics, kept off the request path.

A request hands its record to ``UsageWriter.add`` (a queue put); one thread writes them in
batches with its own unit of work, so a slow database never delays an answer. Prometheus
counters and a small in-memory window per backend (for the Models page) update at once.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy.orm import Session

from aiharness.observability.logging import get_logger

log = get_logger("aiharness.gateway.usage")
WINDOW = 200  # recent requests per backend kept for the Models page


@dataclass
class UsageRecord:
    endpoint: str
    alias: str
    backend: str | None = None
    model: str | None = None
    stream: bool = False
    caller: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tokens_from_backend: bool = False
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    status: str = "ok"
    failovers: int = 0
    route: str = ""
    error: str | None = None


@dataclass
class BackendWindow:
    """The last ``WINDOW`` requests of one backend: latency and errors."""

    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))
    errors: deque[bool] = field(default_factory=lambda: deque(maxlen=WINDOW))

    def add(self, latency_ms: float, error: bool) -> None:
        self.latencies_ms.append(latency_ms)
        self.errors.append(error)

    def p50_ms(self) -> float | None:
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[len(ordered) // 2]

    def error_rate(self) -> float | None:
        return sum(self.errors) / len(self.errors) if self.errors else None


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "aiharness_gateway_requests",
            "Gateway requests by alias, backend and status",
            ["alias", "backend", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "aiharness_gateway_request_duration_seconds",
            "Gateway request latency by alias and backend",
            ["alias", "backend"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
            registry=registry,
        )
        self.ttft = Histogram(
            "aiharness_gateway_time_to_first_token_seconds",
            "Time to the first streamed token by alias and backend",
            ["alias", "backend"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )
        self.tokens = Counter(
            "aiharness_gateway_tokens",
            "Tokens by alias, backend and kind (prompt, completion)",
            ["alias", "backend", "kind"],
            registry=registry,
        )
        self.failovers = Counter(
            "aiharness_gateway_failovers",
            "Moves to another backend (before or during an answer) by alias",
            ["alias"],
            registry=registry,
        )

    def observe(self, record: UsageRecord) -> None:
        backend = record.backend or "none"
        self.requests.labels(record.alias, backend, record.status).inc()
        self.latency.labels(record.alias, backend).observe(record.latency_ms / 1000)
        if record.ttft_ms is not None:
            self.ttft.labels(record.alias, backend).observe(record.ttft_ms / 1000)
        if record.prompt_tokens:
            self.tokens.labels(record.alias, backend, "prompt").inc(record.prompt_tokens)
        if record.completion_tokens:
            self.tokens.labels(record.alias, backend, "completion").inc(record.completion_tokens)
        if record.failovers:
            self.failovers.labels(record.alias).inc(record.failovers)


class UsageWriter:
    """Batches records into ``gateway_usage`` from one thread that wakes every ``flush_s``.

    ``add`` only appends to a list under a lock: no thread is woken per request, so the
    request path never pays for a context switch to the writer.
    """

    def __init__(
        self,
        unit_of_work: Callable[[], AbstractContextManager[Session]],
        *,
        batch_size: int,
        flush_s: float,
    ) -> None:
        self._unit_of_work = unit_of_work
        self.batch_size = batch_size
        self.flush_s = flush_s
        self._pending: list[UsageRecord] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # one batch at a time (thread, flush, close)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.written = 0
        self.dropped = 0

    def add(self, record: UsageRecord) -> None:
        if self._closed:
            return
        with self._lock:
            self._pending.append(record)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="gateway-usage", daemon=True)
                self._thread.start()
            full = len(self._pending) >= self.batch_size
        if full:
            self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_s)
            self._wake.clear()
            self._drain()

    def _drain(self) -> None:
        with self._write_lock:
            with self._lock:
                pending, self._pending = self._pending, []
            for start in range(0, len(pending), self.batch_size):
                self._write(pending[start : start + self.batch_size])

    def _write(self, batch: list[UsageRecord]) -> None:
        from sqlalchemy import insert

        from aiharness.gateway.models import GatewayUsage

        # One executemany without the ORM's unit of work (and shallow copies, not asdict's deep
        # ones): this thread holds the GIL about half as long per batch (measured 21-25 ms of
        # CPU instead of 44-65 ms for 500 records), time the request threads wait.
        rows = [dict(vars(r)) for r in batch]
        try:
            with self._unit_of_work() as session:
                session.execute(insert(GatewayUsage), rows)
            self.written += len(batch)
        except Exception as exc:  # records are telemetry: never take the gateway down
            self.dropped += len(batch)
            log.warning("usage records not written", count=len(batch), error=str(exc)[:200])

    def flush(self) -> None:
        """Write every record added so far, now, in the calling thread (tests, shutdown)."""
        self._drain()

    def close(self) -> None:
        self._closed = True
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(10)
        self._drain()
