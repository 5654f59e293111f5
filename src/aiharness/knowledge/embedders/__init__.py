"""Text embedders behind one small interface; ``create_embedder(settings)`` picks the kind.

Names are loaded on first use (PEP 562): reading the embedder *settings* (every CLI command
does) must not import numpy and the model code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiharness.knowledge.embedders.base import (
        Embedder,
        EmbedderError,
        EmbedderInputError,
        Vectors,
        l2_normalize,
    )
    from aiharness.knowledge.embedders.registry import EMBEDDERS, create_embedder
    from aiharness.knowledge.embedders.settings import EmbedderKind, EmbedderSettings

_WHERE = {
    "Embedder": "base",
    "EmbedderError": "base",
    "EmbedderInputError": "base",
    "Vectors": "base",
    "l2_normalize": "base",
    "EMBEDDERS": "registry",
    "create_embedder": "registry",
    "EmbedderKind": "settings",
    "EmbedderSettings": "settings",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


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
