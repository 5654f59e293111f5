"""One streamed answer, failover included.

Before the first token, a backend that refuses, errs or stays silent past its first-token
time-out is skipped for the next one of the alias. After it, a stream that breaks (a read
error, a time-out, or an end without ``[DONE]`` or a finish reason) is continued on the next
backend: the partial answer goes back as an assistant message to continue, its chunks are
re-stamped with the first stream's id and model, and the client sees one stream.

Event payloads pass through as the backend sent them while nothing needs changing.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing, suppress
from typing import TYPE_CHECKING, Any

import anyio

from aiharness.gateway.backends import BackendError, BackendStream
from aiharness.gateway.schemas import BadRequest, ChatRequest
from aiharness.gateway.tokens import estimate_prompt_tokens
from aiharness.gateway.usage import UsageRecord

if TYPE_CHECKING:
    from aiharness.gateway.runtime import GatewayRuntime, Slot

DONE = "[DONE]"


class StreamBroken(Exception):
    """The backend's stream ended or failed before the answer was complete."""


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


def sse(payload: str) -> bytes:
    return b"data: " + payload.encode() + b"\n\n"


def _delta_of(chunk: Mapping[str, Any]) -> tuple[str, str | None, bool]:
    """(content, finish_reason, role_only) of a chunk's first choice."""
    choices = chunk.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        return "", None, False
    choice = choices[0]
    delta = choice.get("delta") if isinstance(choice.get("delta"), Mapping) else {}
    assert isinstance(delta, Mapping)
    content = delta.get("content") if isinstance(delta.get("content"), str) else ""
    finish = choice.get("finish_reason")
    role_only = not content and finish is None and set(delta) <= {"role", "content"}
    return str(content), finish if isinstance(finish, str) else None, role_only


class _Attempt:
    """One backend's open stream and the payloads read ahead of the client."""

    def __init__(self, slot: Slot, stream: BackendStream) -> None:
        self.slot = slot
        self.stream = stream
        self.payloads = stream.payloads().__aiter__()
        self.buffered: list[str] = []

    async def next(self, timeout_s: float) -> str:
        try:
            return await asyncio.wait_for(anext(self.payloads), timeout_s)
        except StopAsyncIteration:
            raise StreamBroken("the stream ended early") from None
        except TimeoutError:
            raise StreamBroken(f"no data for {timeout_s:g}s") from None
        except BackendError as exc:
            raise StreamBroken(_short(exc)) from None
        except Exception as exc:  # httpx read errors: the connection broke mid-answer
            raise StreamBroken(f"{type(exc).__name__}: {_short(exc)}") from None


class GatewayStream:
    """A streaming chat completion; ``start`` before sending headers, then ``events``."""

    def __init__(
        self,
        runtime: GatewayRuntime,
        request: ChatRequest,
        alias: str,
        members: list[Slot],
        *,
        caller: str | None,
    ) -> None:
        self.runtime = runtime
        self.request = request
        self.alias = alias
        self.members = members
        self.started = time.perf_counter()
        self.record = UsageRecord(endpoint="chat", alias=alias, stream=True, caller=caller)
        self.route: list[str] = []
        self.errors: list[str] = []
        self.tried: set[str] = set()
        self.attempt: _Attempt | None = None
        self.partial: list[str] = []
        self.chunks = 0
        self.usage: dict[str, Any] | None = None
        self.stamp: dict[str, Any] | None = None  # id/created/model of the first stream
        self.switched = False
        self._answer_complete = False
        self._finished = False
        self._route = ""

    @property
    def backend(self) -> str | None:
        return self.attempt.slot.name if self.attempt is not None else None

    @property
    def model(self) -> str | None:
        return self.attempt.slot.settings.model if self.attempt is not None else None

    def _body(self, slot: Slot, continuation: bool) -> dict[str, Any]:
        body = {**self.request.body, "model": slot.settings.model, "stream": True}
        if continuation:
            text = "".join(self.partial)
            body["messages"] = [*self.request.messages, {"role": "assistant", "content": text}]
            if slot.settings.kind == "vllm":
                body["continue_final_message"] = True
                body["add_generation_prompt"] = False
            for key in ("max_tokens", "max_completion_tokens"):
                if isinstance(body.get(key), int):
                    body[key] = max(1, body[key] - self.chunks)
        return body

    async def _open(self, *, continuation: bool) -> _Attempt:
        """The next backend that starts answering; StreamBroken-free. Raises Unavailable."""
        for slot in self.members:
            if slot.name in self.tried:
                continue
            if not slot.breaker.try_acquire():
                self.errors.append(f"{slot.name} cooling down")
                continue
            self.tried.add(slot.name)
            self.route.append(slot.name)
            if self._route:
                self._route += ">>" if continuation else ">"
            self._route += slot.name
            timeout = slot.settings.first_token_timeout_s
            stream: BackendStream | None = None
            try:
                stream = await asyncio.wait_for(
                    slot.backend.open_stream(self._body(slot, continuation)), timeout
                )
                attempt = _Attempt(slot, stream)
                await self._read_to_first_token(attempt, timeout)
            except BackendError as exc:
                if not exc.retryable:
                    slot.breaker.release()
                    self._close_record("invalid", _short(exc))
                    raise BadRequest(str(exc), code="backend_rejected") from None
                self._failed(slot, _short(exc), stream)
                continue
            except (StreamBroken, TimeoutError) as exc:
                self._failed(slot, _short(exc) or "no first token in time", stream)
                if stream is not None:
                    await _close_quietly(stream)
                continue
            except BaseException:
                slot.breaker.release()
                if stream is not None:
                    with anyio.CancelScope(shield=True):
                        await _close_quietly(stream)
                raise
            slot.breaker.success()
            return attempt
        raise self.runtime._all_down(self.alias, self.members, self.errors)

    def _failed(self, slot: Slot, error: str, stream: BackendStream | None) -> None:
        slot.breaker.failure(error)
        slot.window.add((time.perf_counter() - self.started) * 1000, True)
        self.errors.append(f"{slot.name}: {error}")

    async def _read_to_first_token(self, attempt: _Attempt, timeout_s: float) -> None:
        """Read ahead until a payload carries content or ends the answer."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise StreamBroken(f"no first token within {timeout_s:g}s")
            payload = await attempt.next(left)
            attempt.buffered.append(payload)
            if payload == DONE:
                return
            try:
                chunk = json.loads(payload)
            except ValueError:
                raise StreamBroken("the backend sent an event that is not JSON") from None
            if isinstance(chunk, Mapping) and "error" in chunk and "choices" not in chunk:
                raise StreamBroken(f"the backend sent an error: {_short(Exception(payload))}")
            content, finish, _ = _delta_of(chunk)
            if content or finish:
                return

    async def start(self) -> None:
        try:
            self.attempt = await self._open(continuation=False)
        except BaseException as exc:
            if not self._finished:
                status = "cancelled" if isinstance(exc, asyncio.CancelledError) else "unavailable"
                self._close_record(status, "; ".join(self.errors) or _short(exc))
            raise
        self.record.ttft_ms = round((time.perf_counter() - self.started) * 1000, 2)

    def _restamp(self, chunk: dict[str, Any]) -> str:
        assert self.stamp is not None
        chunk.update(self.stamp)
        return json.dumps(chunk, ensure_ascii=False, separators=(",", ":"))

    async def events(self) -> AsyncGenerator[bytes]:
        """The SSE byte stream for the client, ending with ``data: [DONE]``."""
        assert self.attempt is not None, "start() first"
        status, error = "ok", None
        try:
            while True:
                attempt = self.attempt
                try:
                    done = False
                    async with aclosing(self._payloads(attempt)) as payloads:
                        async for payload in payloads:
                            if payload == DONE:
                                done = True
                                break
                            out = self._track(payload)
                            if out is not None:
                                yield out
                    if done or self._answer_complete:
                        break
                    raise StreamBroken("the stream ended without [DONE]")
                except StreamBroken as exc:
                    attempt.slot.breaker.failure(_short(exc))
                    self.errors.append(f"{attempt.slot.name}: {_short(exc)}")
                    await _close_quietly(attempt.stream)
                    if not self.runtime.section.continue_mid_stream:
                        raise
                    self.attempt = await self._open(continuation=True)
                    self.switched = True
            yield sse(DONE)
        except asyncio.CancelledError:
            status, error = "cancelled", "the client went away"
            raise
        except GeneratorExit:
            status, error = "cancelled", "the client went away"
            raise
        except Exception as exc:  # broken beyond repair: tell the client in the stream
            status, error = "error", _short(exc)
            message = {"error": {"message": error, "type": "api_error", "code": "stream_broken"}}
            yield sse(json.dumps(message))
            yield sse(DONE)
        finally:
            with anyio.CancelScope(shield=True):
                if self.attempt is not None:
                    await _close_quietly(self.attempt.stream)
            self._close_record(status, error)

    async def _payloads(self, attempt: _Attempt) -> AsyncGenerator[str]:
        buffered, attempt.buffered = attempt.buffered, []
        for payload in buffered:
            yield payload
        settings = attempt.slot.settings
        deadline = self.started + settings.total_timeout_s
        while True:
            left = min(settings.first_token_timeout_s, deadline - time.perf_counter())
            if left <= 0:
                raise StreamBroken(f"the answer took longer than {settings.total_timeout_s:g}s")
            try:
                payload = await attempt.next(left)
            except StreamBroken:
                if self._answer_complete:
                    return  # a finish reason came; a missing [DONE] is harmless
                raise
            yield payload

    def _track(self, payload: str) -> bytes | None:
        """Note content, finish and usage of one chunk; the bytes to send (None: skip)."""
        try:
            chunk = json.loads(payload)
        except ValueError:
            return None  # a stray comment or keep-alive: nothing for the client
        if not isinstance(chunk, dict):
            return None
        if "error" in chunk and "choices" not in chunk:
            raise StreamBroken(f"the backend sent an error mid-stream: {payload[:200]}")
        content, finish, role_only = _delta_of(chunk)
        if isinstance(chunk.get("usage"), Mapping):
            self.usage = dict(chunk["usage"])
            if not self.request.include_usage:
                return None  # asked for by nobody here: keep the client's stream standard
        if self.stamp is None:
            self.stamp = {k: chunk[k] for k in ("id", "created", "model") if k in chunk}
        if content:
            self.partial.append(content)
            self.chunks += 1
        if finish:
            self._answer_complete = True
        if self.switched:
            if role_only:
                return None  # the client already has the role from the first stream
            return sse(self._restamp(chunk))
        return sse(payload)

    def _close_record(self, status: str, error: str | None) -> None:
        if self._finished:
            return
        self._finished = True
        record = self.record
        record.latency_ms = round((time.perf_counter() - self.started) * 1000, 2)
        record.status = status
        record.error = error
        record.failovers = max(0, len(self.route) - 1)
        record.route = self._route
        record.backend = self.backend or (self.route[-1] if self.route else None)
        record.model = self.model
        usage = self.usage or {}
        if isinstance(usage.get("prompt_tokens"), int) and not self.switched:
            record.prompt_tokens = int(usage["prompt_tokens"])
            record.completion_tokens = int(usage.get("completion_tokens") or 0)
            record.tokens_from_backend = True
        else:
            record.prompt_tokens = estimate_prompt_tokens(self.request.messages)
            record.completion_tokens = self.chunks  # one content chunk is about one token
        slot = self.attempt.slot if self.attempt is not None else None
        self.runtime.record(record, slot)

    async def aclose(self) -> None:
        """Give up on a stream whose events were never consumed (the response never started)."""
        with anyio.CancelScope(shield=True):
            if self.attempt is not None:
                await _close_quietly(self.attempt.stream)
        self._close_record("cancelled", "the stream was never read")


async def _close_quietly(stream: BackendStream) -> None:
    with suppress(Exception):  # the connection is being dropped anyway
        await stream.aclose()
