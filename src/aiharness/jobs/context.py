"""What a handler gets: progress and log reporting with throttled writes, and cancellation."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from aiharness.db.engine import session_scope
from aiharness.jobs import lifecycle

if TYPE_CHECKING:
    from aiharness.config import Settings
    from aiharness.jobs.lifecycle import Claim
    from aiharness.platform import Platform

T = TypeVar("T")

LOG_TAIL_CHARS = 4000


class JobCancelled(Exception):
    """Raised inside a handler (by ``check_cancelled``/``progress``) when a user cancelled it."""


class JobLost(Exception):
    """This worker no longer owns the job (it was re-queued elsewhere); stop without writing."""


class JobContext:
    """Handed to every handler. ``progress`` is cheap from tight loops: it writes at most every
    ``min_interval_s`` (and on completion), and each write also picks up a cancellation.

    ``get(KnowledgeRuntime)`` gives a handler the worker platform's services (one per process,
    so a model loads once and its clients are closed with the platform)."""

    def __init__(
        self,
        *,
        claim: Claim,
        platform: Platform,
        cancel_flag: Callable[[], bool] = lambda: False,
        min_interval_s: float = 0.5,
    ) -> None:
        self.claim = claim
        self.platform = platform
        self._cancel_flag = cancel_flag
        self._min_interval_s = min_interval_s
        self._lock = threading.Lock()
        self._last_write = time.monotonic()
        self._cancelled = False
        self.done = 0
        self.total: int | None = claim.progress_total
        self.message = ""
        # A handler's one-line verdict on a success that needs saying ("2 of 5 documents
        # failed"); recorded as the job's status reason.
        self.outcome_note: str | None = None
        self._log: list[str] = [claim.log_tail] if claim.log_tail else []
        self._log_chars = len(claim.log_tail)
        self._dirty = False

    @property
    def settings(self) -> Settings:
        return self.platform.settings

    @property
    def session_factory(self) -> sessionmaker[Session]:
        return self.platform.session_factory

    def get(self, kind: type[T]) -> T:
        """A runtime of the worker's platform, e.g. ``ctx.get(KnowledgeRuntime)``."""
        return self.platform.get(kind)

    @property
    def job_id(self) -> str:
        return self.claim.job_id

    @property
    def attempt(self) -> int:
        return self.claim.attempt

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        """Report ``done`` of ``total`` items; raises JobCancelled once cancellation is seen."""
        with self._lock:
            self.done = done
            if total is not None:
                self.total = total
            if message is not None:
                self.message = message
            self._dirty = True
            due = time.monotonic() - self._last_write >= self._min_interval_s
            finished = self.total is not None and done >= self.total
        if due or finished:
            self.flush()
        self.check_cancelled()

    def log(self, line: str) -> None:
        """Append a line to the job's log tail (kept to the last few thousand characters)."""
        stamp = datetime.now(UTC).strftime("%H:%M:%S")
        with self._lock:
            entry = f"[{stamp}] {line.rstrip()}\n"
            self._log.append(entry)
            self._log_chars += len(entry)
            while self._log_chars > LOG_TAIL_CHARS and len(self._log) > 1:
                self._log_chars -= len(self._log.pop(0))
            self._dirty = True

    def log_tail(self) -> str:
        with self._lock:
            return "".join(self._log)[-LOG_TAIL_CHARS:]

    def check_cancelled(self) -> None:
        """Raise JobCancelled if a user asked to cancel this job (seen by a write or heartbeat)."""
        if self._cancelled or self._cancel_flag():
            self._cancelled = True
            raise JobCancelled(f"job {self.job_id} was cancelled")

    @property
    def cancelled(self) -> bool:
        return self._cancelled or self._cancel_flag()

    def flush(self) -> None:
        """Write pending progress and log now."""
        with self._lock:
            if not self._dirty:
                return
            self._dirty = False
            self._last_write = time.monotonic()
            done, total, message = self.done, self.total, self.message
        with session_scope(self.session_factory) as session:
            requested = lifecycle.write_progress(
                session=session,
                claim=self.claim,
                done=done,
                total=total,
                message=message,
                log_tail=self.log_tail(),
            )
        if requested is None:
            raise JobLost(f"job {self.job_id} is no longer owned by this worker")
        if requested:
            self._cancelled = True
