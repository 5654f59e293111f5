"""The gateway's runtime: backends, breakers, aliases and the request paths that use them.

One per process (``platform.get(GatewayRuntime)``). The HTTP routes, the CLI's in-process mode
and other features (through ``aiharness.gateway.public``) all go through ``complete``,
``open_stream`` and ``embeddings`` here, so routing, failover and usage records are the same
for every caller.
"""

from __future__ import annotations

import asyncio
import functools
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiharness.config import Settings
from aiharness.errors import NotFound, Unavailable
from aiharness.gateway.backends import BackendError, ChatBackend, create_backend
from aiharness.gateway.breaker import CircuitBreaker
from aiharness.gateway.routing import EMBEDDINGS, alias_table, choose_alias
from aiharness.gateway.schemas import (
    BadRequest,
    ChatRequest,
    parse_chat,
    parse_embeddings,
)
from aiharness.gateway.settings import AUTO, BackendSettings, GatewaySettings
from aiharness.gateway.tokens import estimate_prompt_tokens, estimate_tokens
from aiharness.gateway.usage import BackendWindow, GatewayMetrics, UsageRecord, UsageWriter
from aiharness.observability.logging import get_logger

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from aiharness.gateway.streaming import GatewayStream

log = get_logger("aiharness.gateway")
KNOWLEDGE_EMBEDDER = "knowledge"


@dataclass
class BackendHealth:
    """What the last background probe saw."""

    status: str = "unknown"  # up, down, unknown
    latency_ms: float | None = None
    checked_at: float | None = None
    error: str | None = None
    models: list[str] = field(default_factory=list)


@dataclass
class Slot:
    """A backend with its breaker, health and recent-request window."""

    backend: ChatBackend
    breaker: CircuitBreaker
    health: BackendHealth = field(default_factory=BackendHealth)
    window: BackendWindow = field(default_factory=BackendWindow)
    # The settings as configured (the backend's may differ: an embedded model's context).
    configured: BackendSettings | None = None

    @property
    def name(self) -> str:
        return self.backend.name

    @property
    def settings(self) -> BackendSettings:
        return self.backend.settings


@dataclass(frozen=True)
class ModelInfo:
    id: str
    backends: tuple[str, ...]
    kind: str  # alias, auto, embeddings


@dataclass(frozen=True)
class ReloadReport:
    added: list[str]
    removed: list[str]
    changed: list[str]
    kept: list[str]
    aliases: list[str]


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


class GatewayRuntime:
    """Backends by name, aliases, and the chat and embeddings paths with failover."""

    def __init__(
        self,
        *,
        settings: Settings,
        registry: CollectorRegistry,
        unit_of_work: Callable[[], Any],
        embedder: Callable[[], Any] | None = None,
        backend_factory: Callable[[BackendSettings], ChatBackend] | None = None,
    ) -> None:
        self.settings = settings
        self.section = GatewaySettings.of(settings)
        self.metrics = GatewayMetrics(registry)
        self.usage = UsageWriter(
            unit_of_work,
            batch_size=self.section.usage_batch_size,
            flush_s=self.section.usage_flush_s,
        )
        self._embedder = embedder
        # Embedded (llama_cpp) backends find relative GGUF names in the data dir's models.
        self._backend_factory = backend_factory or functools.partial(
            create_backend, models_dir=settings.data_dir / "models"
        )
        self._lock = threading.Lock()
        self.slots: dict[str, Slot] = {}
        self.aliases: dict[str, list[str]] = {}
        self._retired: list[ChatBackend] = []
        self._apply(self.section)

    # -- configuration -------------------------------------------------------------------
    def _breaker(self, section: GatewaySettings) -> CircuitBreaker:
        return CircuitBreaker(
            threshold=section.failure_threshold,
            cooldown_s=section.cooldown_s,
            max_cooldown_s=section.max_cooldown_s,
        )

    def _apply(self, section: GatewaySettings) -> ReloadReport:
        wanted = {b.name: b for b in section.all_backends()}
        with self._lock:
            old = self.slots
            slots: dict[str, Slot] = {}
            added: list[str] = []
            changed: list[str] = []
            kept: list[str] = []
            for name, backend_settings in wanted.items():
                current = old.get(name)
                if current is not None and (current.configured or current.settings) == (
                    backend_settings
                ):
                    slots[name] = current
                    kept.append(name)
                    continue
                (changed if current is not None else added).append(name)
                slots[name] = Slot(
                    self._backend_factory(backend_settings),
                    self._breaker(section),
                    configured=backend_settings,
                )
            removed = [n for n in old if n not in wanted]
            # Streams in flight may still use a replaced backend: close those at shutdown.
            self._retired.extend(old[n].backend for n in (*removed, *changed))
            self.slots = slots
            self.aliases = alias_table(section)
            self.section = section
        return ReloadReport(added, removed, changed, kept, sorted(self.aliases))

    def reload(self, section: GatewaySettings | None = None) -> ReloadReport:
        """Read the config file and environment again and apply the ``gateway`` section.

        Unchanged backends keep their connections and breaker state; changed ones start anew.
        """
        if section is None:
            section = GatewaySettings.of(type(self.settings)())
        report = self._apply(section)
        log.info(
            "gateway reloaded",
            added=report.added,
            removed=report.removed,
            changed=report.changed,
        )
        return report

    # -- lookups -------------------------------------------------------------------------
    def models(self) -> list[ModelInfo]:
        found = [ModelInfo(name, tuple(m), "alias") for name, m in sorted(self.aliases.items())]
        if any(a in self.aliases for a in ("chat", "code")):
            found.insert(0, ModelInfo(AUTO, tuple(self.aliases.get("chat", [])), "auto"))
        if self._serves_knowledge_embeddings():
            found.append(ModelInfo(EMBEDDINGS, (KNOWLEDGE_EMBEDDER,), "embeddings"))
        return found

    def _serves_knowledge_embeddings(self) -> bool:
        return (
            self.section.embeddings == "knowledge"
            and self._embedder is not None
            and EMBEDDINGS not in self.aliases
        )

    def members(self, alias: str) -> list[Slot]:
        names = self.aliases.get(alias)
        if names is None:
            known = ", ".join(m.id for m in self.models()) or "none configured"
            raise NotFound(
                f"the model {alias!r} does not exist; available models: {known}",
                code="model_not_found",
                details={"param": "model"},
            )
        slots = self.slots
        return [slots[n] for n in names if n in slots]

    def _all_down(self, alias: str, members: list[Slot], errors: list[str]) -> Unavailable:
        waits = [s.breaker.retry_after_s() for s in members]
        retry = max(1, math.ceil(min((w for w in waits if w > 0), default=1.0)))
        detail = "; ".join(errors) if errors else "every backend is cooling down"
        if not members:
            detail = "the alias has no backends"
        return Unavailable(
            f"no backend of {alias!r} is available ({detail}); try again in {retry}s",
            code="all_backends_down",
            retry_after_s=retry,
        )

    # -- chat ----------------------------------------------------------------------------
    def prepare_chat(self, body: dict[str, Any]) -> tuple[ChatRequest, str, list[Slot]]:
        """Parse and check a chat request; its alias and backends (NotFound, BadRequest)."""
        request = parse_chat(body, max_tokens_limit=self.section.max_tokens_limit)
        alias = choose_alias(request.model, request.messages)
        members = self.members(alias)
        if members:
            context = max(s.settings.context_length for s in members)
            prompt = estimate_prompt_tokens(request.messages)
            if prompt > context:
                raise BadRequest(
                    f"the prompt has at least {prompt} tokens; {alias!r} accepts at most "
                    f"{context}. Shorten the messages.",
                    code="context_length_exceeded",
                    details={"param": "messages"},
                )
            if request.max_tokens is not None and request.max_tokens > context:
                raise BadRequest(
                    f"max_tokens {request.max_tokens} is larger than the context length of "
                    f"{alias!r} ({context})",
                    code="invalid_value",
                    details={"param": "max_tokens"},
                )
        return request, alias, members

    def record(self, record: UsageRecord, slot: Slot | None = None) -> None:
        self.metrics.observe(record)
        if slot is not None:
            slot.window.add(record.latency_ms, record.status != "ok")
        self.usage.add(record)

    async def complete(self, body: dict[str, Any], *, caller: str | None = None) -> dict[str, Any]:
        """A non-streaming chat completion with failover; the backend's answer as sent."""
        request, alias, members = self.prepare_chat(body)
        if request.stream:
            raise BadRequest("use open_stream for `stream: true`", details={"param": "stream"})
        started = time.perf_counter()
        record = UsageRecord(endpoint="chat", alias=alias, caller=caller)
        errors: list[str] = []
        route: list[str] = []
        for slot in members:
            if not slot.breaker.try_acquire():
                errors.append(f"{slot.name} cooling down")
                continue
            route.append(slot.name)
            try:
                answer = await slot.backend.complete({**body, "model": slot.settings.model})
            except asyncio.CancelledError:
                slot.breaker.release()
                self._finish(record, started, route, "cancelled", slot, "client went away")
                raise
            except BackendError as exc:
                if not exc.retryable:
                    slot.breaker.release()
                    self._finish(record, started, route, "invalid", slot, _short(exc))
                    raise BadRequest(str(exc), code="backend_rejected") from None
                slot.breaker.failure(_short(exc))
                slot.window.add((time.perf_counter() - started) * 1000, True)
                errors.append(_short(exc))
                continue
            slot.breaker.success()
            record.failovers = len(route) - 1
            self._count(record, request, answer)
            record.model = str(answer.get("model") or slot.settings.model)
            self._finish(record, started, route, "ok", slot)
            return answer
        record.failovers = max(0, len(route) - 1)
        self._finish(record, started, route, "unavailable", None, "; ".join(errors))
        raise self._all_down(alias, members, errors)

    def _count(self, record: UsageRecord, request: ChatRequest, answer: Mapping[str, Any]) -> None:
        usage = answer.get("usage")
        if isinstance(usage, Mapping) and isinstance(usage.get("prompt_tokens"), int):
            record.prompt_tokens = int(usage["prompt_tokens"])
            record.completion_tokens = int(usage.get("completion_tokens") or 0)
            record.tokens_from_backend = True
            return
        record.prompt_tokens = estimate_prompt_tokens(request.messages)
        text = ""
        for choice in answer.get("choices") or []:
            message = choice.get("message") if isinstance(choice, Mapping) else None
            if isinstance(message, Mapping) and isinstance(message.get("content"), str):
                text += message["content"]
        record.completion_tokens = estimate_tokens(text)

    def _finish(
        self,
        record: UsageRecord,
        started: float,
        route: list[str],
        status: str,
        slot: Slot | None,
        error: str | None = None,
    ) -> None:
        record.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        record.status = status
        record.route = record.route or ">".join(route)
        record.backend = slot.name if slot is not None else (route[-1] if route else None)
        record.error = error
        self.record(record, slot)

    async def open_stream(
        self, body: dict[str, Any], *, caller: str | None = None
    ) -> GatewayStream:
        """Start a streaming completion: returns once a backend has sent its first token
        (failing over before that), or raises Unavailable / BadRequest / NotFound."""
        from aiharness.gateway.streaming import GatewayStream

        request, alias, members = self.prepare_chat(body)
        stream = GatewayStream(self, request, alias, members, caller=caller)
        await stream.start()
        return stream

    # -- embeddings ----------------------------------------------------------------------
    async def embeddings(
        self, body: dict[str, Any], *, caller: str | None = None
    ) -> dict[str, Any]:
        model, texts = parse_embeddings(body)
        started = time.perf_counter()
        record = UsageRecord(endpoint="embeddings", alias=model, caller=caller)
        record.prompt_tokens = sum(estimate_tokens(t) for t in texts)
        if model in (EMBEDDINGS, KNOWLEDGE_EMBEDDER) and self._serves_knowledge_embeddings():
            answer = await self._knowledge_embeddings(model, texts, body)
            record.model = str(answer["model"])
            self._finish(record, started, [KNOWLEDGE_EMBEDDER], "ok", None)
            return answer
        members = [s for s in self.members(model) if "embeddings" in s.settings.capabilities]
        if not members:
            raise BadRequest(
                f"the model {model!r} does not serve embeddings", details={"param": "model"}
            )
        errors: list[str] = []
        route: list[str] = []
        for slot in members:
            if not slot.breaker.try_acquire():
                errors.append(f"{slot.name} cooling down")
                continue
            route.append(slot.name)
            try:
                answer = await slot.backend.embed({**body, "model": slot.settings.model})
            except BackendError as exc:
                if not exc.retryable:
                    slot.breaker.release()
                    self._finish(record, started, route, "invalid", slot, _short(exc))
                    raise BadRequest(str(exc), code="backend_rejected") from None
                slot.breaker.failure(_short(exc))
                errors.append(_short(exc))
                continue
            slot.breaker.success()
            record.failovers = len(route) - 1
            record.model = slot.settings.model
            self._finish(record, started, route, "ok", slot)
            return answer
        self._finish(record, started, route, "unavailable", None, "; ".join(errors))
        raise self._all_down(model, members, errors)

    async def _knowledge_embeddings(
        self, model: str, texts: list[str], body: Mapping[str, Any]
    ) -> dict[str, Any]:
        assert self._embedder is not None
        as_queries = body.get("input_type") == "query"

        def run() -> tuple[str, list[list[float]]]:
            embedder = self._embedder() if self._embedder is not None else None
            if embedder is None:
                raise Unavailable("no embedder is available")
            vectors = (
                embedder.embed_queries(texts) if as_queries else embedder.embed_passages(texts)
            )
            return str(embedder.name), [[float(x) for x in row] for row in vectors]

        try:
            name, vectors = await asyncio.to_thread(run)
        except ValueError as exc:  # the embedder's input limits (count, length)
            raise BadRequest(_short(exc), details={"param": "input"}) from None
        except Unavailable:
            raise
        except Exception as exc:
            raise Unavailable(f"the embedder failed: {_short(exc)}", retry_after_s=5) from None
        tokens = sum(estimate_tokens(t) for t in texts)
        return {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)
            ],
            "model": name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    # -- lifecycle -----------------------------------------------------------------------
    async def aclose_connections(self) -> None:
        """Close the running loop's connections (a CLI command's loop, the prober's)."""
        backends = [s.backend for s in list(self.slots.values())] + list(self._retired)
        await asyncio.gather(*(b.aclose() for b in backends), return_exceptions=True)

    def close(self) -> None:
        self.usage.close()
        with self._lock:
            backends = [s.backend for s in self.slots.values()] + self._retired
            self.slots = {}
            self._retired = []
        for backend in backends:
            try:
                backend.close()
            except Exception:
                log.exception("backend did not close cleanly", backend=backend.name)
