"""Dependency checks: each feature adds its own (database now; queue, index, LLMs later)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Engine, text

from aiharness.db.migrate import revision_state

CheckStatus = Literal["ok", "down", "disabled"]


@dataclass(frozen=True)
class CheckResult:
    status: CheckStatus
    detail: str

    @classmethod
    def ok(cls, detail: str) -> CheckResult:
        return cls("ok", detail)

    @classmethod
    def down(cls, detail: str) -> CheckResult:
        return cls("down", detail)


@dataclass(frozen=True)
class DependencyCheck:
    """A named probe; a required one that is down makes the platform not ready."""

    name: str
    probe: Callable[[], CheckResult]
    required: bool = True


@dataclass(frozen=True)
class CheckReport:
    name: str
    required: bool
    status: CheckStatus
    detail: str
    latency_ms: float


def database_check(engine: Engine) -> DependencyCheck:
    def probe() -> CheckResult:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        state = revision_state(engine)
        where = engine.url.render_as_string(hide_password=True)
        if not state.at_head:
            return CheckResult.down(
                f"{where} is at revision {state.current or 'none'}, expected {state.head}; "
                "run `aiharness db upgrade`"
            )
        return CheckResult.ok(f"{engine.dialect.name}, revision {state.head}")

    return DependencyCheck("database", probe, required=True)


def _run_one(check: DependencyCheck) -> CheckReport:
    started = time.perf_counter()
    try:
        result = check.probe()
    except Exception as exc:  # any failure of a probe is a "down", never a crash of /ready
        result = CheckResult.down(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return CheckReport(
        name=check.name,
        required=check.required,
        status=result.status,
        detail=result.detail,
        latency_ms=round((time.perf_counter() - started) * 1000, 1),
    )


async def run_checks(
    checks: Sequence[DependencyCheck], timeout_s: float = 3.0
) -> list[CheckReport]:
    """Run every probe in a thread, concurrently; a probe past the timeout counts as down."""

    async def one(check: DependencyCheck) -> CheckReport:
        try:
            return await asyncio.wait_for(asyncio.to_thread(_run_one, check), timeout_s)
        except TimeoutError:
            return CheckReport(
                check.name, check.required, "down", f"no answer in {timeout_s}s", timeout_s * 1000
            )

    return list(await asyncio.gather(*(one(check) for check in checks)))


def run_checks_sync(checks: Sequence[DependencyCheck]) -> list[CheckReport]:
    return [_run_one(check) for check in checks]


def is_ready(reports: Sequence[CheckReport]) -> bool:
    return all(r.status != "down" for r in reports if r.required)
