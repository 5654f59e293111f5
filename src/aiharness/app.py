"""The app factory: ``create_app(settings)`` mounts every feature and owns the lifespan."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from aiharness import __version__
from aiharness.config import Settings, check_production_secrets
from aiharness.db import migrate
from aiharness.db.engine import session_scope
from aiharness.errors import install_error_handlers
from aiharness.events import service as events
from aiharness.events.router import router as events_router
from aiharness.events.schemas import EventCreate
from aiharness.health.router import router as health_router
from aiharness.jobs.router import router as jobs_router
from aiharness.knowledge.router import alias_router as knowledge_alias_router
from aiharness.knowledge.router import router as knowledge_router
from aiharness.observability.logging import get_logger
from aiharness.observability.middleware import RequestContextMiddleware
from aiharness.platform import Platform, build_platform
from aiharness.web.router import mount_web

log = get_logger("aiharness.app")

# Libraries that could reach a model hub must never try; models come from packages or paths.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def enforce_offline_env() -> None:
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


def start_platform(platform: Platform) -> None:
    """Migrate, record the start, and start background services (blocking; run in a thread)."""
    if platform.settings.auto_migrate:
        before = migrate.current_revision(platform.engine)
        state = migrate.upgrade(platform.engine)
        if before != state.current:
            log.info("database migrated", from_revision=before, to_revision=state.current)
    else:
        state = migrate.revision_state(platform.engine)
    if not state.at_head:
        # Serve anyway: /ready reports the database as behind and says how to fix it.
        log.warning("database schema is behind", current=state.current, head=state.head)
        return
    with session_scope(platform.session_factory) as session:
        events.record_event(
            session=session,
            event_in=EventCreate(
                kind="platform.started",
                message=f"aiharness {__version__} started",
                details={"pid": os.getpid(), "services": [s.name for s in platform.services]},
            ),
        )
    for service in platform.services:
        service.start()
        log.info("service started", service=service.name)
    queue_demo(platform)


def queue_demo(platform: Platform) -> None:
    """On a fresh data dir, queue the sample documents as a job (search works on first start)."""
    from aiharness.jobs.wiring import queues_of
    from aiharness.knowledge.ingest import queue_demo_ingest

    try:
        queue_demo_ingest(
            settings=platform.settings,
            session_factory=platform.session_factory,
            queues=queues_of(platform),
        )
    except Exception:  # the demo is a convenience; it must never stop the platform
        log.exception("could not queue the demo documents")


def stop_platform(platform: Platform) -> None:
    for service in reversed(platform.services):
        try:
            service.stop()
            log.info("service stopped", service=service.name)
        except Exception:
            log.exception("service did not stop cleanly", service=service.name)
    try:
        with session_scope(platform.session_factory) as session:
            events.record_event(
                session=session,
                event_in=EventCreate(kind="platform.stopped", message="aiharness stopped"),
            )
    except Exception:
        log.exception("could not record the stop event")
    platform.close()


def create_app(settings: Settings, platform: Platform | None = None) -> FastAPI:
    """Build the whole HTTP app from settings; nothing here touches the network."""
    check_production_secrets(settings)
    enforce_offline_env()
    platform = platform or build_platform(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(start_platform, platform)
        log.info("platform ready", version=__version__)
        try:
            yield
        finally:
            await asyncio.to_thread(stop_platform, platform)

    app = FastAPI(
        title="Industrial AI Harness",
        version=__version__,
        description="Self-hosted, offline-first AI platform for industrial teams.",
        lifespan=lifespan,
    )
    app.state.platform = platform
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, metrics=platform.metrics)
    app.include_router(health_router)
    app.include_router(events_router)
    app.include_router(jobs_router)
    app.include_router(knowledge_router)
    app.include_router(knowledge_alias_router)
    mount_web(app)
    return app
