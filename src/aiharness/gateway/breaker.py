"""A circuit breaker per backend: closed -> open (cooldown) -> half-open (one trial) -> closed.

A backend that fails ``threshold`` times in a row is skipped for a cooldown; after it, one
trial (a request or a health probe) decides: success closes the circuit, failure reopens it
for twice as long (up to a cap). Thread-safe: the health prober runs in its own thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

State = Literal["closed", "open", "half-open"]


class CircuitBreaker:
    def __init__(
        self,
        *,
        threshold: int,
        cooldown_s: float,
        max_cooldown_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.base_cooldown_s = cooldown_s
        self.max_cooldown_s = max(cooldown_s, max_cooldown_s)
        self._clock = clock
        self._lock = threading.Lock()
        self.failures = 0
        self.cooldown_s = cooldown_s
        self.open_until = 0.0
        self._opened = False
        self._trial_running = False
        self.last_error: str | None = None

    @property
    def state(self) -> State:
        with self._lock:
            return self._state()

    def _state(self) -> State:
        if not self._opened:
            return "closed"
        return "open" if self._clock() < self.open_until else "half-open"

    def retry_after_s(self) -> float:
        """Seconds until this backend may be tried again (0 when it may be now)."""
        with self._lock:
            return max(0.0, self.open_until - self._clock()) if self._opened else 0.0

    def try_acquire(self) -> bool:
        """May a request go to this backend now? In half-open state only one trial at a time."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return True
            if state == "open" or self._trial_running:
                return False
            self._trial_running = True
            return True

    def success(self) -> None:
        with self._lock:
            self.failures = 0
            self._opened = False
            self._trial_running = False
            self.cooldown_s = self.base_cooldown_s
            self.last_error = None

    def failure(self, error: str) -> None:
        with self._lock:
            self.last_error = error
            self.failures += 1
            if self._opened:  # a failed trial: open again, for longer
                self.cooldown_s = min(self.cooldown_s * 2, self.max_cooldown_s)
                self.open_until = self._clock() + self.cooldown_s
            elif self.failures >= self.threshold:
                self._opened = True
                self.open_until = self._clock() + self.cooldown_s
            self._trial_running = False

    def release(self) -> None:
        """A trial that ended without a verdict (the client went away) frees the slot."""
        with self._lock:
            self._trial_running = False
