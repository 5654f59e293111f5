"""Build the rate limiter from settings and put both limits on an app."""

from __future__ import annotations

import contextlib

from fastapi import FastAPI

from aiharness.jobs.settings import JobsSettings
from aiharness.limits.body import BodySizeLimit
from aiharness.limits.counters import open_counters
from aiharness.limits.settings import LimitsSettings
from aiharness.limits.throttle import RateLimiter
from aiharness.observability.logging import get_logger
from aiharness.platform import MissingRuntimeError, Platform

log = get_logger("aiharness.limits")


def counters_url(platform: Platform) -> str | None:
    """The configured counter store, else the job queue's when it is Redis or PostgreSQL (every
    API process shares it), else None (this process's memory)."""
    section = LimitsSettings.of(platform.settings)
    if section.storage_url:
        return section.storage_url
    if "jobs" in type(platform.settings).sections:
        queue_url = JobsSettings.of(platform.settings).queue_url or ""
        if queue_url.split(":", 1)[0].lower() in {"redis", "rediss", "postgresql", "postgres"}:
            return queue_url
    return None


def build_rate_limiter(platform: Platform) -> RateLimiter:
    counters = open_counters(counters_url(platform))
    log.info("rate limits", storage=counters.name)
    return RateLimiter(LimitsSettings.of(platform.settings), counters)


def install_request_limits(app: FastAPI, platform: Platform) -> None:
    """Body size limits as middleware; the rate limiter as the app's throttle (the hook every
    mounted route runs after its permission check). Nothing if the feature is not installed."""
    if "limits" not in type(platform.settings).sections:
        return
    section = LimitsSettings.of(platform.settings)
    app.add_middleware(
        BodySizeLimit,
        max_body_bytes=section.max_body_bytes,
        max_upload_bytes=section.max_upload_request_bytes,
    )
    with contextlib.suppress(MissingRuntimeError):
        app.state.throttle = platform.get(RateLimiter)
