"""The OpenAI-compatible ``/v1`` routes (errors in OpenAI's shape) and ``/api/gateway``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from aiharness.api_errors import OpenAIRoute
from aiharness.deps import CurrentPrincipal, SessionDep
from aiharness.errors import Forbidden
from aiharness.gateway import service
from aiharness.gateway.deps import GatewayDep
from aiharness.gateway.schemas import (
    BackendTest,
    GatewayStatus,
    ReloadResult,
    UsagePublic,
    parse_json,
)
from aiharness.principal import Principal

router = APIRouter(tags=["gateway"])
v1 = APIRouter(tags=["openai"], route_class=OpenAIRoute)
CREATED = 1_700_000_000  # OpenAI lists a creation time; aliases have none worth telling
_OPENAI_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed request (OpenAI error shape; `param` names the field)."},
    404: {"description": "Unknown model (`model_not_found`)."},
    503: {"description": "Every backend of the model is down (`Retry-After` says when to retry)."},
}

_CHAT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["model", "messages"],
                    "properties": {
                        "model": {"type": "string", "description": "An alias, or `auto`."},
                        "messages": {"type": "array", "items": {"type": "object"}},
                        "stream": {"type": "boolean"},
                        "max_tokens": {"type": "integer"},
                    },
                    "additionalProperties": True,
                }
            }
        },
    }
}
_EMBEDDINGS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["model", "input"],
                    "properties": {
                        "model": {"type": "string"},
                        "input": {
                            "oneOf": [
                                {"type": "string"},
                                {"type": "array", "items": {"type": "string"}},
                            ]
                        },
                    },
                    "additionalProperties": True,
                }
            }
        },
    }
}


def check_model_scope(principal: Principal, body: dict[str, Any]) -> None:
    """A caller limited to some models names one of them (``auto`` only if it is listed)."""
    model = body.get("model")
    if principal.models is not None and not (
        isinstance(model, str) and principal.may_use_model(model)
    ):
        allowed = ", ".join(sorted(principal.models)) or "none"
        raise Forbidden(f"this caller may only use the models {allowed}", code="model_not_allowed")


@v1.get("/v1/models", summary="Models (aliases) the gateway serves")
def list_models(runtime: GatewayDep, principal: CurrentPrincipal) -> dict[str, Any]:
    data = [
        {"id": m.id, "object": "model", "created": CREATED, "owned_by": "aiharness"}
        for m in runtime.models()
        if principal.may_use_model(m.id)
    ]
    return {"object": "list", "data": data}


@v1.post(
    "/v1/chat/completions",
    summary="Chat completion (streaming with `stream: true`)",
    openapi_extra=_CHAT_BODY,
    response_model=None,
    responses=_OPENAI_ERRORS,
)
async def chat_completions(
    request: Request, runtime: GatewayDep, principal: CurrentPrincipal
) -> Response:
    body = parse_json(await request.body())
    check_model_scope(principal, body)
    if body.get("stream") is True:
        stream = await runtime.open_stream(body, caller=principal.id)
        return StreamingResponse(
            stream.events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            # Runs when the body was never sent (the client left first); a no-op otherwise.
            background=BackgroundTask(stream.aclose),
        )
    return JSONResponse(await runtime.complete(body, caller=principal.id))


@v1.post(
    "/v1/embeddings",
    summary="Embeddings",
    openapi_extra=_EMBEDDINGS_BODY,
    responses=_OPENAI_ERRORS,
)
async def embeddings(
    request: Request, runtime: GatewayDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    body = parse_json(await request.body())
    check_model_scope(principal, body)
    return await runtime.embeddings(body, caller=principal.id)


@router.get("/api/gateway/status", summary="Backends with health, breaker state and latency")
def gateway_status(runtime: GatewayDep, _p: CurrentPrincipal) -> GatewayStatus:
    return service.status(runtime)


@router.get("/api/gateway/usage", summary="Recent usage records, newest first")
def gateway_usage(
    session: SessionDep,
    _p: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[UsagePublic]:
    return service.recent_usage(session=session, limit=limit)


@router.post(
    "/api/gateway/backends/{name}/test",
    summary="Probe one backend now",
    responses={404: {"description": "No backend of that name."}},
)
async def probe_backend(name: str, runtime: GatewayDep, _p: CurrentPrincipal) -> BackendTest:
    return await service.test_backend(runtime, name)


@router.post(
    "/api/gateway/reload",
    summary="Re-read the config file's gateway section",
    responses={422: {"description": "The config file is invalid; nothing changed."}},
)
def reload_gateway(runtime: GatewayDep, session: SessionDep, _p: CurrentPrincipal) -> ReloadResult:
    return service.reload(runtime, session=session)


router.include_router(v1)
