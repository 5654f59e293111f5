"""Background health probing of every backend (``GET /models``), in its own thread and loop.

Results feed ``/ready`` (an optional check: the platform stays ready with no LLM), the Models
page and the breakers: a probe is also the half-open trial that brings a cooled-down backend
back without risking a user's request on it.
"""

from __future__ import annotations

import asyncio
import threading
import time

from aiharness.gateway.backends import BackendError
from aiharness.gateway.runtime import GatewayRuntime, Slot
from aiharness.health.checks import CheckResult, DependencyCheck
from aiharness.observability.logging import get_logger

log = get_logger("aiharness.gateway.health")
TICK_S = 0.5  # how often half-open backends get their trial probe


async def probe_slot(slot: Slot) -> None:
    """Probe one backend and note the result on its health and breaker."""
    timeout = slot.settings.connect_timeout_s + 5.0
    started = time.perf_counter()
    try:
        models = await asyncio.wait_for(slot.backend.probe(), timeout)
    except BackendError as exc:
        if exc.status_code is not None and exc.status_code < 500 and exc.status_code != 429:
            models = []  # it answered: a server without /models is still up
        else:
            _down(slot, str(exc))
            return
    except TimeoutError:
        _down(slot, f"no answer to the health probe in {timeout:g}s")
        return
    health = slot.health
    health.status = "up"
    health.latency_ms = round((time.perf_counter() - started) * 1000, 1)
    health.checked_at = time.time()
    health.error = None
    health.models = models
    # Only a half-open breaker takes the probe as its trial: an open one waits out its
    # cooldown (the server may list models and still fail every completion).
    if slot.breaker.state == "half-open":
        slot.breaker.success()


def _down(slot: Slot, error: str) -> None:
    health = slot.health
    health.status = "down"
    health.checked_at = time.time()
    health.error = error[:300]
    health.latency_ms = None
    if slot.breaker.state != "open":
        slot.breaker.failure(error[:300])


async def probe_all(runtime: GatewayRuntime) -> None:
    await asyncio.gather(*(probe_slot(s) for s in list(runtime.slots.values())))


class HealthProber:
    """A ``BackendService``: probes every backend each ``health_interval_s``, and half-open
    ones every tick."""

    name = "gateway-health"

    def __init__(self, runtime: GatewayRuntime) -> None:
        self.runtime = runtime
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._run()), name=self.name, daemon=True
        )
        self._thread.start()

    async def _run(self) -> None:
        next_full = 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() >= next_full:
                    await probe_all(self.runtime)
                    next_full = time.monotonic() + self.runtime.section.health_interval_s
                else:
                    trials = [
                        s
                        for s in list(self.runtime.slots.values())
                        if s.breaker.state == "half-open" and s.breaker.try_acquire()
                    ]
                    await asyncio.gather(*(probe_slot(s) for s in trials))
            except Exception:
                log.exception("health probing failed")
            await asyncio.sleep(TICK_S)
        # This loop's connections end with it.
        await self.runtime.aclose_connections()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)


def llm_check(runtime: GatewayRuntime) -> DependencyCheck:
    """Not required: chat needs an LLM, the rest of the platform does not."""

    def probe() -> CheckResult:
        slots = list(runtime.slots.values())
        if not slots:
            return CheckResult("disabled", "no LLM backends configured")
        parts = []
        for slot in slots:
            health = slot.health
            state = health.status
            if slot.breaker.state != "closed":
                state += f", {slot.breaker.state}"
            latency = f" {health.latency_ms:g} ms" if health.latency_ms is not None else ""
            parts.append(f"{slot.name} {state}{latency}")
        up = sum(1 for s in slots if s.health.status == "up")
        unknown = sum(1 for s in slots if s.health.status == "unknown")
        detail = f"{up}/{len(slots)} backends up: " + ", ".join(parts)
        if up == 0 and unknown == 0:
            return CheckResult.down(detail)
        return CheckResult.ok(detail)

    return DependencyCheck("llm", probe, required=False)
