"""Shapes of the OpenAI-compatible API, checked here so that a bad request is a clear 400.

Bodies stay dicts: parameters this gateway does not know are forwarded to the backend as sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from aiharness.errors import Invalid

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


class BadRequest(Invalid):
    """A request the OpenAI API would answer with 400 (``invalid_request_error``)."""

    kind = "bad_request"  # no entry in the kernel's status table: HTTP 400


@dataclass(frozen=True)
class ChatRequest:
    """What the gateway needs of a chat request; ``body`` is forwarded (minus nothing)."""

    model: str
    messages: list[dict[str, Any]]
    stream: bool
    max_tokens: int | None
    include_usage: bool
    body: dict[str, Any]


def parse_json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(
            f"the request body is not valid JSON: {exc}", code="invalid_json"
        ) from None
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object", code="invalid_json")
    return body


def _param(message: str, param: str, code: str = "invalid_value") -> BadRequest:
    return BadRequest(message, code=code, details={"param": param})


def _check_message(i: int, message: Any) -> dict[str, Any]:
    where = f"messages[{i}]"
    if not isinstance(message, Mapping):
        raise _param(f"{where} must be an object with a role and content", where)
    role = message.get("role")
    if role not in ROLES:
        raise _param(f"{where}.role must be one of {', '.join(sorted(ROLES))}", f"{where}.role")
    content = message.get("content")
    if content is None and role in {"assistant", "tool", "function"}:
        return dict(message)  # tool calls carry no content
    if isinstance(content, str):
        return dict(message)
    if isinstance(content, list) and all(isinstance(p, Mapping) for p in content):
        return dict(message)
    raise _param(f"{where}.content must be a string or a list of content parts", f"{where}.content")


def parse_chat(body: dict[str, Any], *, max_tokens_limit: int) -> ChatRequest:
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise _param("`model` is required: a model name from GET /v1/models", "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _param("`messages` must be a non-empty list of messages", "messages")
    checked = [_check_message(i, m) for i, m in enumerate(messages)]
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise _param("`stream` must be true or false", "stream")
    max_tokens: int | None = None
    for key in ("max_tokens", "max_completion_tokens"):
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise _param(f"`{key}` must be an integer", key)
        if value < 1 or value > max_tokens_limit:
            raise _param(f"`{key}` must be between 1 and {max_tokens_limit}, got {value}", key)
        max_tokens = value
    options = body.get("stream_options")
    include_usage = isinstance(options, Mapping) and options.get("include_usage") is True
    return ChatRequest(model, checked, stream, max_tokens, include_usage, body)


def parse_embeddings(body: dict[str, Any]) -> tuple[str, list[str]]:
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise _param("`model` is required: a model name from GET /v1/models", "model")
    raw = body.get("input")
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not texts:
        raise _param("`input` must be a string or a non-empty list of strings", "input")
    if not all(isinstance(t, str) and t.strip() for t in texts):
        raise _param(
            "every `input` must be a non-empty string (token arrays are not supported)", "input"
        )
    return model, texts


# -- the platform API's view of the gateway (/api/gateway) ---------------------------------
class BackendStatus(BaseModel):
    name: str
    kind: str
    base_url: str
    model: str
    priority: int
    capabilities: list[str]
    health: str  # up, down, unknown
    health_latency_ms: float | None
    health_error: str | None
    breaker: str  # closed, open, half-open
    retry_after_s: float
    p50_ms: float | None
    error_rate: float | None
    requests: int


class AliasPublic(BaseModel):
    name: str
    backends: list[str]


class GatewayStatus(BaseModel):
    backends: list[BackendStatus]
    aliases: list[AliasPublic]


class UsagePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    caller: str | None
    endpoint: str
    alias: str
    backend: str | None
    model: str | None
    stream: bool
    prompt_tokens: int
    completion_tokens: int
    tokens_from_backend: bool
    latency_ms: float
    ttft_ms: float | None
    status: str
    failovers: int
    route: str
    error: str | None


class ReloadResult(BaseModel):
    added: list[str]
    removed: list[str]
    changed: list[str]
    kept: list[str]
    aliases: list[str]


class BackendTest(BaseModel):
    name: str
    ok: bool
    latency_ms: float
    models: list[str]
    error: str | None
