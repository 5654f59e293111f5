"""The OpenAI-compatible backend: Ollama, vLLM, llama.cpp's server and OpenAI itself.

One pooled ``httpx.AsyncClient`` per backend and event loop (the API server has one loop; the
CLI's in-process mode runs its own), and a semaphore that bounds the requests in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx

from aiharness.clients.openai_compat import RETRY_STATUS, auth_headers, error_message
from aiharness.gateway.backends.base import BackendError
from aiharness.gateway.settings import BackendSettings


class _Pool:
    """The client and semaphore of one event loop."""

    def __init__(self, settings: BackendSettings, loop: asyncio.AbstractEventLoop) -> None:
        key = os.environ.get(settings.api_key_env) if settings.api_key_env else None
        self.loop = loop
        self.semaphore = asyncio.Semaphore(settings.max_concurrency)
        self.client = httpx.AsyncClient(
            headers=auth_headers(key),
            timeout=httpx.Timeout(
                settings.total_timeout_s,
                connect=settings.connect_timeout_s,
                read=settings.first_token_timeout_s,
            ),
            limits=httpx.Limits(
                max_connections=settings.max_concurrency,
                max_keepalive_connections=settings.max_concurrency,
            ),
        )


def _failure(settings: BackendSettings, exc: httpx.HTTPError) -> BackendError:
    if isinstance(exc, httpx.ConnectError):
        return BackendError(f"{settings.name} is unreachable: {exc or 'connection refused'}")
    if isinstance(exc, httpx.TimeoutException):
        return BackendError(f"{settings.name} timed out ({type(exc).__name__})")
    return BackendError(f"{settings.name} failed: {type(exc).__name__}: {exc}")


def _status_error(settings: BackendSettings, status: int, body: bytes, reason: str) -> BackendError:
    message = error_message(status, body, reason)
    return BackendError(
        f"{settings.name} answered HTTP {status}: {message}",
        status_code=status,
        retryable=status in RETRY_STATUS or status >= 500,
    )


class _Stream:
    """An open streaming response; ``aclose`` cancels the backend request."""

    def __init__(self, response: httpx.Response, semaphore: asyncio.Semaphore) -> None:
        self._response = response
        self._semaphore = semaphore
        self._closed = False

    async def payloads(self) -> AsyncIterator[str]:
        async for line in self._response.aiter_lines():
            if line.startswith("data:"):
                yield line[5:].strip()

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                await self._response.aclose()
            finally:
                self._semaphore.release()


class OpenAICompatBackend:
    """Client of ``{base_url}/chat/completions``, ``/embeddings`` and ``/models``."""

    def __init__(self, settings: BackendSettings) -> None:
        self.name = settings.name
        self.settings = settings
        self._pools: dict[int, _Pool] = {}
        self._whole = httpx.Timeout(settings.total_timeout_s, connect=settings.connect_timeout_s)

    def _pool(self) -> _Pool:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(id(loop))
        if pool is None or pool.loop is not loop:
            # Clients of loops that have ended cannot be closed any more; forget them.
            self._pools = {k: p for k, p in self._pools.items() if not p.loop.is_closed()}
            pool = self._pools[id(loop)] = _Pool(self.settings, loop)
        return pool

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        pool = self._pool()
        async with pool.semaphore:
            try:
                # A whole non-streamed answer may take up to the total time-out.
                response = await pool.client.post(
                    self.settings.base_url + path, json=body, timeout=self._whole
                )
            except httpx.HTTPError as exc:
                raise _failure(self.settings, exc) from None
        if response.status_code != 200:
            raise _status_error(
                self.settings, response.status_code, response.content, response.reason_phrase
            )
        try:
            answer = response.json()
        except ValueError:
            raise BackendError(f"{self.name} sent an answer that is not JSON") from None
        if not isinstance(answer, dict):
            raise BackendError(f"{self.name} sent JSON that is not an object")
        return answer

    async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        answer = await self._post("/chat/completions", body)
        if not isinstance(answer.get("choices"), list):
            raise BackendError(f"{self.name} sent a completion without choices")
        return answer

    async def embed(self, body: dict[str, Any]) -> dict[str, Any]:
        answer = await self._post("/embeddings", body)
        if not isinstance(answer.get("data"), list):
            raise BackendError(f"{self.name} sent embeddings without data")
        return answer

    async def open_stream(self, body: dict[str, Any]) -> _Stream:
        pool = self._pool()
        await pool.semaphore.acquire()
        response: httpx.Response | None = None
        try:
            request = pool.client.build_request(
                "POST",
                self.settings.base_url + "/chat/completions",
                content=json.dumps(body).encode(),
            )
            response = await pool.client.send(request, stream=True)
            if response.status_code != 200:
                content = await response.aread()
                raise _status_error(
                    self.settings, response.status_code, content, response.reason_phrase
                )
        except BaseException as exc:
            if response is not None:
                await response.aclose()
            pool.semaphore.release()
            if isinstance(exc, httpx.HTTPError):
                raise _failure(self.settings, exc) from None
            raise
        return _Stream(response, pool.semaphore)

    async def probe(self) -> list[str]:
        pool = self._pool()
        try:
            response = await pool.client.get(self.settings.base_url + "/models")
        except httpx.HTTPError as exc:
            raise _failure(self.settings, exc) from None
        if response.status_code != 200:
            raise _status_error(
                self.settings, response.status_code, response.content, response.reason_phrase
            )
        try:
            data = response.json().get("data", [])
            return [str(m.get("id")) for m in data if isinstance(m, dict)]
        except (ValueError, AttributeError):
            raise BackendError(f"{self.name} sent a model list that is not JSON") from None

    async def aclose(self) -> None:
        pool = self._pools.pop(id(asyncio.get_running_loop()), None)
        if pool is not None:
            await pool.client.aclose()

    def close(self) -> None:
        """Close each loop's client in its own loop (or drop it when that loop has ended)."""
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            if pool.loop.is_closed():
                continue
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is pool.loop:
                running.create_task(pool.client.aclose())
            elif pool.loop.is_running():
                future = asyncio.run_coroutine_threadsafe(pool.client.aclose(), pool.loop)
                with contextlib.suppress(Exception):  # closing is best effort on shutdown
                    future.result(timeout=5)
            else:
                pool.loop.run_until_complete(pool.client.aclose())
