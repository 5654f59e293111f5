"""Text embedders behind one small interface; ``create_embedder(settings)`` picks the kind."""

from aiharness.knowledge.embedders.base import (
    Embedder,
    EmbedderError,
    EmbedderInputError,
    Vectors,
    l2_normalize,
)
from aiharness.knowledge.embedders.registry import EMBEDDERS, create_embedder
from aiharness.knowledge.embedders.settings import EmbedderKind, EmbedderSettings

__all__ = [
    "EMBEDDERS",
    "Embedder",
    "EmbedderError",
    "EmbedderInputError",
    "EmbedderKind",
    "EmbedderSettings",
    "Vectors",
    "create_embedder",
    "l2_normalize",
]
