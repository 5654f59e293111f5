"""Plugs the knowledge base into the platform: the lazy runtime, readiness checks (``index``,
``embedder``), a background warm-up and the first start's demo collection."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from sqlalchemy import func, select

from aiharness.health.checks import CheckResult, DependencyCheck
from aiharness.jobs.queue import QueueHub
from aiharness.jobs.settings import JobsSettings
from aiharness.knowledge.runtime import KnowledgeRuntime
from aiharness.observability.logging import get_logger
from aiharness.platform import BackgroundService, Platform

log = get_logger("aiharness.knowledge")


def knowledge_checks(platform: Platform) -> Sequence[DependencyCheck]:
    runtime = platform.get(KnowledgeRuntime)
    return [index_check(platform, runtime), embedder_check(runtime)]


def knowledge_services(platform: Platform) -> Sequence[BackgroundService]:
    """The API process warms the index and model up and queues the demo on a fresh data dir."""
    if platform.role != "api":
        return []
    runtime = platform.get(KnowledgeRuntime)
    return [KnowledgeWarmUp(runtime), DemoCollection(platform)]


def index_check(platform: Platform, runtime: KnowledgeRuntime) -> DependencyCheck:
    """The store opens (the embedded vector index loads) and says how much is indexed."""

    def probe() -> CheckResult:
        from sqlalchemy import inspect

        from aiharness.knowledge.models import Chunk, Collection

        if not inspect(platform.engine).has_table("chunks"):
            return CheckResult.down("the knowledge tables are missing; run `aiharness db upgrade`")
        runtime.search_store()
        with platform.session_factory() as session:
            collections = session.scalar(select(func.count()).select_from(Collection)) or 0
            chunks = session.scalar(select(func.count()).select_from(Chunk)) or 0
        return CheckResult.ok(
            f"{platform.engine.dialect.name}: {chunks} chunks in {collections} collection"
            f"{'s' if collections != 1 else ''}"
        )

    return DependencyCheck("index", probe, required=True)


def embedder_check(runtime: KnowledgeRuntime) -> DependencyCheck:
    """The embedding model loads; not required: keyword search works without it."""

    def probe() -> CheckResult:
        if runtime.warming and not runtime.embedder_ready:
            return CheckResult.ok("loading the embedding model")
        embedder = runtime.embedder  # loads it when nothing has yet
        return CheckResult.ok(f"{embedder.name}, {embedder.dim} dimensions")

    return DependencyCheck("embedder", probe, required=False)


class KnowledgeWarmUp:
    """A ``BackgroundService`` that loads the index and the model without delaying start-up."""

    name = "knowledge-warm-up"

    def __init__(self, runtime: KnowledgeRuntime) -> None:
        self.runtime = runtime
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.runtime.warm_up()
            log.info("knowledge base warmed up")
        except Exception as exc:
            log.warning("knowledge warm-up failed; search will retry", error=str(exc))

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.join(timeout=30)


class DemoCollection:
    """A ``BackgroundService`` that queues the sample documents on a fresh data dir at start."""

    name = "knowledge-demo"

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def start(self) -> None:
        from aiharness.knowledge.ingest import queue_demo_ingest

        platform = self.platform
        try:
            queue_demo_ingest(
                runtime=platform.get(KnowledgeRuntime),
                session_factory=platform.session_factory,
                queues=platform.get(QueueHub),
                worker_enabled=JobsSettings.of(platform.settings).worker_enabled,
            )
        except Exception:  # the demo is a convenience; it must never stop the platform
            log.exception("could not queue the demo documents")

    def stop(self) -> None:
        return None
