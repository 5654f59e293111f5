"""Plugs the gateway into the platform: the runtime, the ``llm`` check, the health prober and
reloading on SIGHUP."""

from __future__ import annotations

import signal
import threading
import weakref
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from aiharness.gateway.health import HealthProber, llm_check
from aiharness.gateway.runtime import GatewayRuntime
from aiharness.gateway.settings import GatewaySettings
from aiharness.health.checks import DependencyCheck
from aiharness.observability.logging import get_logger
from aiharness.platform import BackgroundService, MissingRuntimeError, Platform

log = get_logger("aiharness.gateway")


def _embedder_of(platform: Platform) -> Any:
    """The knowledge base's embedder (loaded on first use), when that feature is installed."""
    from aiharness.knowledge.public import KnowledgeRuntime

    try:
        knowledge = platform.get(KnowledgeRuntime)
    except MissingRuntimeError:
        return None
    return lambda: knowledge.model_embedder


def install_gateway(platform: Platform) -> GatewayRuntime:
    runtime = GatewayRuntime(
        settings=platform.settings,
        registry=platform.metrics.registry,
        unit_of_work=platform.unit_of_work,
        embedder=_embedder_of(platform),
    )
    section = GatewaySettings.of(platform.settings)
    if platform.role == "api" and section.reload_on_sighup:
        reload_on_sighup(runtime, platform.session_factory)
    return runtime


def reload_on_sighup(
    runtime: GatewayRuntime, session_factory: sessionmaker[Session] | None = None
) -> None:
    """SIGHUP re-reads the config file; only the main thread may install a handler."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGHUP"):
        return
    ref = weakref.ref(runtime)

    def reload_safely() -> None:
        target = ref()
        if target is None:
            return
        try:
            report = target.reload()
        except Exception as exc:  # a broken file keeps the running configuration
            log.error("gateway reload failed; keeping the running configuration", error=str(exc))
            return
        if session_factory is not None:
            from aiharness.audit import record_now

            try:
                record_now(
                    session_factory,
                    action="gateway.reload",
                    target="gateway",
                    result="ok",
                    details={
                        "via": "SIGHUP",
                        "added": report.added,
                        "removed": report.removed,
                        "changed": report.changed,
                    },
                )
            except Exception as exc:  # the reload happened; say so in the log at least
                log.error("gateway reload not audited", error=str(exc))

    def handler(_signum: int, _frame: object) -> None:
        threading.Thread(target=reload_safely, name="gateway-reload", daemon=True).start()

    signal.signal(signal.SIGHUP, handler)


def gateway_checks(platform: Platform) -> Sequence[DependencyCheck]:
    return [llm_check(platform.get(GatewayRuntime))]


def gateway_services(platform: Platform) -> Sequence[BackgroundService]:
    if platform.role != "api":
        return []
    return [HealthProber(platform.get(GatewayRuntime))]
