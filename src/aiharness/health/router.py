"""GET /health (liveness), /ready (dependencies), /metrics (Prometheus)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from aiharness import __version__
from aiharness.deps import PlatformDep
from aiharness.health.checks import is_ready, run_checks

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness: the process answers")
def health() -> dict[str, str]:
    return {"status": "ok"}


router.add_api_route("/api/health", health, methods=["GET"], include_in_schema=False)


async def readiness_payload(platform: PlatformDep) -> tuple[bool, dict[str, Any]]:
    reports = await run_checks(platform.checks)
    ready = is_ready(reports)
    return ready, {
        "status": "ok" if ready else "degraded",
        "version": __version__,
        "uptime_s": round(time.time() - platform.started_at, 1),
        "checks": {
            r.name: {
                "status": r.status,
                "required": r.required,
                "detail": r.detail,
                "latency_ms": r.latency_ms,
            }
            for r in reports
        },
    }


@router.get(
    "/ready",
    summary="Readiness: every required dependency is up",
    responses={503: {"description": "A required dependency is down"}},
)
async def ready(platform: PlatformDep) -> JSONResponse:
    ok, payload = await readiness_payload(platform)
    if ok:
        return JSONResponse(payload)
    headers = {"Retry-After": str(platform.settings.ready_retry_after_s)}
    return JSONResponse(payload, status_code=503, headers=headers)


for alias in ("/status", "/api/status"):
    router.add_api_route(alias, ready, methods=["GET"], include_in_schema=False)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(platform: PlatformDep) -> Response:
    return Response(generate_latest(platform.metrics.registry), media_type=CONTENT_TYPE_LATEST)
