"""The running platform: settings, engine, metrics, and typed access to each feature's runtime.

``build_platform`` is the one way every process is built: the API (``aiharness up``), a worker
(``aiharness worker``), and the CLI working on a data dir (``doctor``, ``db``, local commands).
It takes the features in order; this module names none of them.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from aiharness.config import ConfigError, Settings
from aiharness.db import migrate
from aiharness.db.engine import create_db_engine, create_session_factory, session_scope
from aiharness.health.checks import DependencyCheck, database_check
from aiharness.observability.logging import get_logger
from aiharness.observability.metrics import Metrics

if TYPE_CHECKING:
    from aiharness.feature import Feature
    from aiharness.principal import PrincipalResolver

log = get_logger("aiharness.platform")
T = TypeVar("T")
# api: `aiharness up` (HTTP + UI); worker: `aiharness worker`; cli: a command on the data dir.
Role = Literal["api", "worker", "cli"]


class BackgroundService(Protocol):
    """Started with the process and stopped on shutdown (the embedded worker, warm-ups)."""

    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...


class MissingRuntimeError(LookupError):
    """A feature's runtime was asked for but that feature is not installed in this platform."""


@dataclass
class Platform:
    settings: Settings
    role: Role
    engine: Engine
    session_factory: sessionmaker[Session]
    metrics: Metrics
    features: tuple[Feature, ...] = ()
    checks: list[DependencyCheck] = field(default_factory=list)
    services: list[BackgroundService] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    _runtimes: dict[type, object] = field(default_factory=dict)
    _started: list[BackgroundService] = field(default_factory=list)
    # Who calls (``aiharness.principal``): installed by the access feature; None = open.
    principal_resolver: PrincipalResolver | None = None

    def use_principal_resolver(self, resolver: PrincipalResolver) -> None:
        """Let ``resolver`` find the caller of every request (one per platform)."""
        if self.principal_resolver is not None:
            raise ValueError("a principal resolver is already installed")
        self.principal_resolver = resolver

    def provide(self, runtime: object) -> None:
        """Keep a feature's runtime under its type (one per type)."""
        kind = type(runtime)
        if kind in self._runtimes:
            raise ValueError(f"a {kind.__name__} is already provided")
        self._runtimes[kind] = runtime

    def get(self, kind: type[T]) -> T:
        """The runtime of type ``kind`` that a feature's install hook built."""
        runtime = self._runtimes.get(kind)
        if runtime is None:
            names = ", ".join(f.name for f in self.features) or "none"
            raise MissingRuntimeError(
                f"no {kind.__name__} in this platform (installed features: {names})"
            )
        assert isinstance(runtime, kind)
        return runtime

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error."""
        with session_scope(self.session_factory) as session:
            yield session

    def start(self) -> None:
        """Start the background services in feature order."""
        for service in self.services:
            service.start()
            self._started.append(service)
            log.info("service started", service=service.name)

    def stop(self) -> None:
        """Stop what ``start`` started, newest first; one failing service stops no other."""
        while self._started:
            service = self._started.pop()
            try:
                service.stop()
                log.info("service stopped", service=service.name)
            except Exception:
                log.exception("service did not stop cleanly", service=service.name)

    def close(self) -> None:
        """Stop services, close every runtime that holds clients or files, drop connections."""
        self.stop()
        for runtime in reversed(list(self._runtimes.values())):
            close = getattr(runtime, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:
                    log.exception("runtime did not close cleanly", runtime=type(runtime).__name__)
        self._runtimes.clear()
        self.engine.dispose()


def ensure_data_dir(settings: Settings) -> None:
    """Create the data dir and prove it is writable, or fail with one clear line."""
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


def model_modules(features: Sequence[Feature]) -> list[str]:
    return [f.models for f in features if f.models]


def build_platform(
    settings: Settings,
    *,
    role: Role,
    features: Sequence[Feature],
    migrate_database: bool = True,
) -> Platform:
    """Build one process's platform: data dir, engine, schema, then each feature in order.

    ``migrate_database``: apply the one migration policy (``migrate.prepare``); commands that
    inspect or migrate the schema themselves (``doctor``, ``db``) pass False.
    """
    ensure_data_dir(settings)
    engine = create_db_engine(settings.resolved_database_url)
    platform = Platform(
        settings=settings,
        role=role,
        engine=engine,
        session_factory=create_session_factory(engine),
        metrics=Metrics(),
        features=tuple(features),
    )
    try:
        modules = model_modules(features)
        for module in modules:
            importlib.import_module(module)
        if migrate_database:
            migrate.prepare(engine, auto_migrate=settings.auto_migrate, model_modules=modules)
        platform.checks.append(database_check(engine))
        for feature in features:
            if feature.install is not None:
                runtime = feature.install(platform)
                if runtime is not None:
                    platform.provide(runtime)
        for feature in features:
            if feature.checks is not None:
                platform.checks.extend(feature.checks(platform))
            if feature.services is not None:
                platform.services.extend(feature.services(platform))
    except BaseException:
        platform.close()
        raise
    return platform
