"""The core of a client for OpenAI-compatible HTTP servers (vLLM, llama.cpp, Ollama, TEI, ...).

What every caller needs the same way: the bearer header, which answers are worth another try,
a short backoff, and the server's own error message out of whatever JSON it sent. The
knowledge base's embedder and the gateway's backends build on it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import SecretStr

# Answers that a moment later may well be different: time-outs, overload, a restarting server.
RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class OpenAICompatError(RuntimeError):
    """The server could not be reached, timed out, or answered with an error; one line says so."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code

    @property
    def retryable(self) -> bool:
        return self.status_code is None or self.status_code in RETRY_STATUS


def auth_headers(api_key: SecretStr | str | None) -> dict[str, str]:
    """JSON content type, plus ``Authorization: Bearer`` when there is a key."""
    headers = {"Content-Type": "application/json"}
    if api_key is not None:
        secret = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        if secret:
            headers["Authorization"] = f"Bearer {secret}"
    return headers


def error_message(status_code: int, body: bytes | str, reason: str = "") -> str:
    """The message inside an OpenAI-style (or FastAPI-style) error body, else the body's start."""
    import json

    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    message: Any = None
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    if isinstance(payload, Mapping):
        error = payload.get("error")
        if isinstance(error, Mapping):
            message = error.get("message")
        elif isinstance(error, str):
            message = error
        message = message or payload.get("detail") or payload.get("message")
    return str(message or text[:200].strip() or reason or f"HTTP {status_code}")


def backoff_s(attempt: int, *, base_s: float = 0.2, cap_s: float = 2.0) -> float:
    """Exponential backoff before retry ``attempt`` (0-based): 0.2, 0.4, 0.8, ... up to the cap."""
    return float(min(cap_s, base_s * 2**attempt))


class OpenAICompatClient:
    """A blocking client of one server: ``post_json`` with bounded retries on retryable answers.

    ``label`` names the server in messages (``"embedding server http://gpu1:8080/v1"``).
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: SecretStr | str | None = None,
        timeout_s: float = 30.0,
        max_retries: int = 2,
        label: str = "server",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.label = f"{label} {self.base_url}"
        self._client = httpx.Client(headers=auth_headers(api_key), timeout=timeout_s)

    def post_json(self, path: str, body: Mapping[str, Any]) -> Any:
        """POST ``body`` to ``path``; the decoded JSON of a 200 answer, else OpenAICompatError."""
        url = self.base_url + path
        attempts = self.max_retries + 1
        for attempt in range(attempts):
            try:
                response = self._client.post(url, json=body)
            except httpx.TimeoutException:
                failure = OpenAICompatError(
                    f"{self.label} timed out after {self.timeout_s:g}s ({attempt + 1} attempts)"
                )
            except httpx.HTTPError as exc:
                failure = OpenAICompatError(f"{self.label} is unreachable: {exc}")
            else:
                if response.status_code == 200:
                    try:
                        return response.json()
                    except ValueError:
                        raise OpenAICompatError(
                            f"{self.label} sent an answer that is not JSON", status_code=200
                        ) from None
                failure = OpenAICompatError(
                    f"{self.label} answered HTTP {response.status_code}: "
                    + error_message(response.status_code, response.content, response.reason_phrase),
                    status_code=response.status_code,
                )
            if not failure.retryable or attempt == attempts - 1:
                raise failure
            time.sleep(backoff_s(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self._client.close()
