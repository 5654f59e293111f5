"""The running platform's parts, built once from Settings by the app factory or the CLI."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from aiharness.config import Settings
from aiharness.db.engine import create_db_engine, create_session_factory
from aiharness.health.checks import DependencyCheck, database_check
from aiharness.observability.metrics import Metrics

if TYPE_CHECKING:
    from aiharness.jobs.queue import QueueHub
    from aiharness.knowledge.runtime import KnowledgeRuntime


class BackgroundService(Protocol):
    """Started with the app and stopped on shutdown (the embedded worker, folder watchers)."""

    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class Platform:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    metrics: Metrics
    checks: list[DependencyCheck] = field(default_factory=list)
    services: list[BackgroundService] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    # The job queues (set by aiharness.jobs.wiring.install_jobs); opened lazily.
    queues: QueueHub | None = None
    # The knowledge store and embedder (set by aiharness.knowledge.wiring); built lazily.
    knowledge: KnowledgeRuntime | None = None

    def close(self) -> None:
        if self.knowledge is not None:
            self.knowledge.close()
        if self.queues is not None:
            self.queues.close()
        self.engine.dispose()


def ensure_data_dir(settings: Settings) -> None:
    """Create the data dir and prove it is writable, or fail with one clear line."""
    from aiharness.config import ConfigError

    path = settings.data_dir
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"data dir {path.resolve()} is not writable ({exc.strerror or exc}); "
            "fix its permissions or point AIHARNESS_DATA_DIR at a writable folder"
        ) from None


def build_platform(settings: Settings) -> Platform:
    ensure_data_dir(settings)
    engine = create_db_engine(settings.resolved_database_url)
    platform = Platform(
        settings=settings,
        engine=engine,
        session_factory=create_session_factory(engine),
        metrics=Metrics(),
    )
    platform.checks.append(database_check(engine))
    from aiharness.jobs.wiring import install_jobs
    from aiharness.knowledge.wiring import install_knowledge

    install_knowledge(platform)  # before jobs: registers the ingest job type
    install_jobs(platform)
    return platform
