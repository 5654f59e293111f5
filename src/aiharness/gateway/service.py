"""The gateway's platform-API logic: status of backends, recent usage, tests and reloads."""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from aiharness.audit import record
from aiharness.errors import Invalid, NotFound
from aiharness.gateway.backends import BackendError
from aiharness.gateway.models import GatewayUsage
from aiharness.gateway.runtime import GatewayRuntime
from aiharness.gateway.schemas import (
    AliasPublic,
    BackendStatus,
    BackendTest,
    GatewayStatus,
    ReloadResult,
    UsagePublic,
)


def status(runtime: GatewayRuntime) -> GatewayStatus:
    backends = []
    for slot in runtime.slots.values():
        s = slot.settings
        backends.append(
            BackendStatus(
                name=s.name,
                kind=s.kind,
                base_url=s.base_url,
                model=s.model,
                priority=s.priority,
                capabilities=list(s.capabilities),
                health=slot.health.status,
                health_latency_ms=slot.health.latency_ms,
                health_error=slot.health.error
                or (slot.breaker.last_error if slot.breaker.state != "closed" else None),
                breaker=slot.breaker.state,
                retry_after_s=round(slot.breaker.retry_after_s(), 1),
                p50_ms=slot.window.p50_ms(),
                error_rate=slot.window.error_rate(),
                requests=len(slot.window.errors),
            )
        )
    aliases = [AliasPublic(name=m.id, backends=list(m.backends)) for m in runtime.models()]
    return GatewayStatus(backends=backends, aliases=aliases)


def recent_usage(*, session: Session, limit: int = 50) -> list[UsagePublic]:
    rows = session.scalars(select(GatewayUsage).order_by(GatewayUsage.id.desc()).limit(limit))
    return [UsagePublic.model_validate(r) for r in rows]


async def test_backend(runtime: GatewayRuntime, name: str) -> BackendTest:
    """Probe one backend now (``aiharness models test NAME``)."""
    slot = runtime.slots.get(name)
    if slot is None:
        known = ", ".join(runtime.slots) or "none configured"
        raise NotFound(f"no backend named {name!r}; backends: {known}", code="backend_not_found")
    started = time.perf_counter()
    try:
        models = await slot.backend.probe()
    except BackendError as exc:
        return BackendTest(
            name=name,
            ok=False,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            models=[],
            error=str(exc),
        )
    return BackendTest(
        name=name,
        ok=True,
        latency_ms=round((time.perf_counter() - started) * 1000, 1),
        models=models,
        error=None,
    )


def reload(runtime: GatewayRuntime, *, session: Session | None = None) -> ReloadResult:
    """Apply the config file's ``gateway`` section now; a broken file changes nothing.
    With ``session``, the reload is recorded in the audit log."""
    try:
        report = runtime.reload()
    except ValueError as exc:  # ConfigError and pydantic's ValidationError
        first = str(exc).strip().splitlines()
        raise Invalid(
            "the configuration was not reloaded: " + " ".join(first[:3]), code="invalid_config"
        ) from None
    result = ReloadResult(
        added=report.added,
        removed=report.removed,
        changed=report.changed,
        kept=report.kept,
        aliases=report.aliases,
    )
    if session is not None:
        record(
            session,
            action="gateway.reload",
            target="gateway",
            details=result.model_dump(include={"added", "removed", "changed"}),
        )
    return result
