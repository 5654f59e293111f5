"""The app factory: ``create_app(settings)`` builds the platform, mounts what each installed
feature declares (API routers, hidden aliases, pages) and owns the lifespan."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from aiharness import __version__
from aiharness.allowed_methods import AllowedMethods
from aiharness.api_errors import install_error_handlers
from aiharness.config import Settings, check_production_secrets
from aiharness.feature import Feature, resolve
from aiharness.features import FEATURES
from aiharness.health.router import router as health_router
from aiharness.limits.wiring import install_request_limits
from aiharness.observability.logging import get_logger
from aiharness.observability.middleware import RequestContextMiddleware
from aiharness.platform import Platform, build_platform
from aiharness.principal import PUBLIC, mount_router
from aiharness.web.router import mount_web

log = get_logger("aiharness.app")

# Libraries that could reach a model hub must never try; models come from packages or paths.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def enforce_offline_env() -> None:
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


# The platform's own routes: liveness and readiness are public, metrics need metrics:read
# (the access feature can open them to anyone: ``access.public_metrics``).
def platform_permission(path: str, _methods: set[str]) -> str:
    return "metrics:read" if path == "/metrics" else PUBLIC


def include_feature_routers(app: FastAPI, features: Sequence[Feature]) -> None:
    """Mount each feature's routers with the permissions it declares (one place for all)."""
    for feature in features:
        for ref in feature.routers:
            router: APIRouter = resolve(ref)
            mount_router(app, router, feature.permission_for)
        for ref in feature.alias_routers:
            alias: APIRouter = resolve(ref)
            mount_router(app, alias, feature.permission_for, include_in_schema=False)


def create_app(
    settings: Settings,
    platform: Platform | None = None,
    *,
    features: Sequence[Feature] = FEATURES,
) -> FastAPI:
    """Build the whole HTTP app from settings; nothing here touches the network."""
    check_production_secrets(settings)
    enforce_offline_env()
    platform = platform or build_platform(settings, role="api", features=features)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(platform.start)
        log.info("platform ready", version=__version__)
        try:
            yield
        finally:
            await asyncio.to_thread(platform.close)

    app = FastAPI(
        title="Industrial AI Harness",
        version=__version__,
        description="Self-hosted, offline-first AI platform for industrial teams.",
        lifespan=lifespan,
        # The web shell serves /docs and /redoc from vendored assets (FastAPI's use a CDN).
        docs_url=None,
        redoc_url=None,
    )
    app.state.platform = platform
    install_error_handlers(app)
    app.add_middleware(AllowedMethods)
    install_request_limits(app, platform)  # body sizes; rate limits after each permission check
    app.add_middleware(RequestContextMiddleware, metrics=platform.metrics)
    mount_router(app, health_router, platform_permission)
    include_feature_routers(app, platform.features)
    mount_web(app, platform.features)
    return app
