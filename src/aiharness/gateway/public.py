"""What other features may use of the gateway: generate text in process, through the same
routing, failover, breakers and usage records as ``/v1/chat/completions``.

    from aiharness.gateway.public import GatewayRuntime, chat, stream_chat

    runtime = platform.get(GatewayRuntime)
    answer = await chat(runtime, [{"role": "user", "content": "..."}], alias="auto")
    async for delta in stream_chat(runtime, messages, alias="chat", max_tokens=512):
        ...  # delta.text; the last one has finish_reason, model and backend

Errors are domain errors: ``NotFound`` (unknown alias), ``BadRequest``/``Invalid`` (malformed
messages, too long a prompt), ``Unavailable`` (every backend down; ``retry_after_s`` set).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiharness.gateway.runtime import GatewayRuntime, ModelInfo
from aiharness.gateway.schemas import BadRequest
from aiharness.gateway.streaming import DONE


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class ChatAnswer:
    text: str
    model: str
    finish_reason: str | None
    usage: Usage | None
    raw: dict[str, Any]


@dataclass(frozen=True)
class ChatDelta:
    """A piece of a streamed answer; the last one carries the finish reason."""

    text: str
    finish_reason: str | None
    model: str | None
    backend: str | None


def _body(
    messages: Sequence[Mapping[str, Any]], alias: str, stream: bool, params: Mapping[str, Any]
) -> dict[str, Any]:
    return {**params, "model": alias, "messages": [dict(m) for m in messages], "stream": stream}


async def chat(
    runtime: GatewayRuntime,
    messages: Sequence[Mapping[str, Any]],
    *,
    alias: str = "auto",
    caller: str | None = None,
    **params: Any,
) -> ChatAnswer:
    """A whole answer (OpenAI parameters such as ``max_tokens``, ``temperature`` pass on)."""
    raw = await runtime.complete(_body(messages, alias, False, params), caller=caller)
    choice = (raw.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    usage = raw.get("usage")
    counted = (
        Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
        if isinstance(usage, Mapping)
        else None
    )
    return ChatAnswer(
        text=str(message.get("content") or ""),
        model=str(raw.get("model") or ""),
        finish_reason=choice.get("finish_reason"),
        usage=counted,
        raw=raw,
    )


async def stream_chat(
    runtime: GatewayRuntime,
    messages: Sequence[Mapping[str, Any]],
    *,
    alias: str = "auto",
    caller: str | None = None,
    **params: Any,
) -> AsyncIterator[ChatDelta]:
    """The answer as it is generated, continued on another backend if one breaks."""
    stream = await runtime.open_stream(_body(messages, alias, True, params), caller=caller)
    events = stream.events()
    try:
        async for event in events:
            payload = event.decode().removeprefix("data: ").strip()
            if not payload or payload == DONE:
                continue
            chunk = json.loads(payload)
            if "error" in chunk and "choices" not in chunk:
                raise BadRequest(str(chunk["error"].get("message")), code="stream_broken")
            choices = chunk.get("choices") or [{}]
            delta = choices[0].get("delta") or {}
            text = delta.get("content") or ""
            finish = choices[0].get("finish_reason")
            if text or finish:
                yield ChatDelta(text, finish, stream.model, stream.backend)
    finally:
        await events.aclose()


def models(runtime: GatewayRuntime) -> list[ModelInfo]:
    return runtime.models()


def _backends_of(runtime: GatewayRuntime, alias: str) -> list[str]:
    if alias == "auto":
        return [*runtime.aliases.get("chat", []), *runtime.aliases.get("code", [])]
    return [n for n in runtime.aliases.get(alias, []) if n in runtime.slots]


def serves(runtime: GatewayRuntime, alias: str) -> bool:
    """True when ``alias`` (or ``auto``) has at least one configured backend."""
    return bool(_backends_of(runtime, alias))


def context_length(runtime: GatewayRuntime, alias: str) -> int | None:
    """The smallest context window (tokens) among the backends of ``alias``: a prompt that
    fits it fits whichever backend failover picks. None for an alias without backends."""
    slots = runtime.slots
    lengths = [slots[n].settings.context_length for n in _backends_of(runtime, alias) if n in slots]
    return min(lengths) if lengths else None


__all__ = [
    "ChatAnswer",
    "ChatDelta",
    "GatewayRuntime",
    "ModelInfo",
    "Usage",
    "chat",
    "context_length",
    "models",
    "serves",
    "stream_chat",
]
