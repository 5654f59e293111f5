"""Plugs the knowledge base into the platform: the ingest job type, the lazy runtime, readiness
checks (``index``, ``embedder``) and a background warm-up. Called once from ``build_platform``."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from aiharness.health.checks import CheckResult, DependencyCheck
from aiharness.knowledge.runtime import KnowledgeRuntime
from aiharness.observability.logging import get_logger

if TYPE_CHECKING:
    from aiharness.platform import Platform

log = get_logger("aiharness.knowledge")


def install_knowledge(platform: Platform) -> None:
    import aiharness.knowledge.ingest  # noqa: F401 - registers the knowledge.ingest job type

    runtime = KnowledgeRuntime(settings=platform.settings, engine=platform.engine)
    platform.knowledge = runtime
    platform.checks.append(index_check(platform, runtime))
    platform.checks.append(embedder_check(runtime))
    platform.services.append(KnowledgeWarmUp(runtime))


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
