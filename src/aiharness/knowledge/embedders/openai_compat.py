"""Embedder for any OpenAI-compatible ``/v1/embeddings`` server (TEI, vLLM, Ollama, a gateway).

Texts go in requests of ``batch_size``; answers are checked (count, order, dimension) and
normalised here because not every server normalises. Role prefixes are added client-side.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from aiharness.clients.openai_compat import OpenAICompatClient, OpenAICompatError
from aiharness.knowledge.embedders.base import (
    EmbedderError,
    Vectors,
    batches,
    check_inputs,
    l2_normalize,
)
from aiharness.knowledge.embedders.settings import EmbedderSettings


class OpenAIEmbedder:
    """Client of ``POST {base_url}/embeddings``; the HTTP client is created on first use."""

    def __init__(self, settings: EmbedderSettings) -> None:
        if not settings.base_url:
            raise EmbedderError("the openai embedder needs `base_url`, e.g. http://host:8080/v1")
        if not settings.model:
            raise EmbedderError("the openai embedder needs `model`: the served model id")
        self.name = f"openai:{settings.model}"
        self.max_batch = settings.max_batch
        self.max_chars = settings.max_chars
        self._settings = settings
        self._url = settings.base_url.rstrip("/") + "/embeddings"
        self._query_prefix, self._passage_prefix = settings.prefixes()
        self._dim = settings.dim
        self._client: OpenAICompatClient | None = None

    @property
    def dim(self) -> int:
        if self._dim is None:
            self.warm_up()
        assert self._dim is not None
        return self._dim

    def warm_up(self) -> None:
        """Open the client; when no dimension is configured, learn it from one probe request."""
        if self._client is None:
            assert self._settings.base_url is not None
            self._client = OpenAICompatClient(
                base_url=self._settings.base_url,
                api_key=self._settings.api_key,
                timeout_s=self._settings.timeout_s,
                max_retries=self._settings.max_retries,
                label="embedding server",
            )
        if self._dim is None:
            probe = self._request([self._query_prefix + "dimension probe"])
            self._dim = probe.shape[1]

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts, self._passage_prefix)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts, self._query_prefix)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _embed(self, texts: Sequence[str], prefix: str) -> Vectors:
        items = check_inputs(texts, max_batch=self.max_batch, max_chars=self.max_chars)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.warm_up()
        parts = [
            self._request([prefix + t for t in batch])
            for batch in batches(items, self._settings.batch_size)
        ]
        return np.vstack(parts)

    def _request(self, inputs: list[str]) -> Vectors:
        body = {"model": self._settings.model, "input": inputs, "encoding_format": "float"}
        assert self._client is not None
        try:
            answer = self._client.post_json("/embeddings", body)
        except OpenAICompatError as exc:
            raise EmbedderError(str(exc)) from None
        return self._parse(answer, len(inputs))

    def _parse(self, answer: Any, expected: int) -> Vectors:
        try:
            rows = sorted(answer["data"], key=lambda row: row["index"])
            vectors = np.asarray([row["embedding"] for row in rows], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbedderError(
                f"embedding server {self._url} sent a malformed answer: {exc}"
            ) from None
        if vectors.ndim != 2 or len(vectors) != expected:
            raise EmbedderError(
                f"embedding server {self._url} returned {len(vectors)} vectors for {expected} texts"
            )
        if self._dim is not None and vectors.shape[1] != self._dim:
            raise EmbedderError(
                f"embedding server {self._url} returned {vectors.shape[1]}-dimensional vectors; "
                f"expected {self._dim} (is model {self._settings.model!r} the right one?)"
            )
        return l2_normalize(vectors)
