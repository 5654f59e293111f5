"""The backend interface: an OpenAI-compatible chat server seen through four calls.

Bodies are OpenAI request dicts (``model`` already set to the backend's served model); answers
are the server's JSON, and streams yield the ``data:`` payloads of its server-sent events
unchanged, so the gateway can pass bytes through without decoding and re-encoding them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol, runtime_checkable

from aiharness.gateway.settings import BackendSettings


class BackendError(RuntimeError):
    """The backend failed; ``retryable`` says whether another backend may well succeed."""

    def __init__(
        self, message: str, *, status_code: int | None = None, retryable: bool = True
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retryable = retryable


class BackendStream(Protocol):
    """An open streaming answer: the status was 200; ``payloads`` yields each event's data."""

    def payloads(self) -> AsyncIterator[str]: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class ChatBackend(Protocol):
    """One LLM server. Implementations open their clients lazily and release them in close."""

    name: str
    settings: BackendSettings

    async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        """A non-streaming chat completion: the server's JSON answer."""
        ...

    async def open_stream(self, body: dict[str, Any]) -> BackendStream:
        """Send a streaming request; returns once the server answered 200 (else BackendError)."""
        ...

    async def embed(self, body: dict[str, Any]) -> dict[str, Any]:
        """An embeddings request: the server's JSON answer."""
        ...

    async def probe(self) -> list[str]:
        """A cheap health probe (``GET /models``): the model ids the server lists."""
        ...

    async def aclose(self) -> None:
        """Release the connections of the running event loop (before that loop ends)."""
        ...

    def close(self) -> None:
        """Release every connection (callable from any thread)."""
        ...
