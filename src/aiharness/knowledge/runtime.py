"""The knowledge parts one process uses (store, embedder), built on first use, never at import.

The API keeps one ``KnowledgeRuntime`` on the platform; worker processes get one per database
and embedder configuration from ``runtime_for`` so that the model loads once per process.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from aiharness.config import Settings
from aiharness.knowledge.embedders import Embedder, EmbedderSettings, create_embedder
from aiharness.knowledge.parsers import ParseLimits
from aiharness.knowledge.parsers.limits import MB

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from aiharness.knowledge.retrieval import Reranker
    from aiharness.knowledge.schemas import SearchHit, SearchMode
    from aiharness.knowledge.stores.base import KnowledgeStore


def embedder_settings(settings: Settings) -> EmbedderSettings:
    """The platform's flat ``embedder_*`` settings as the embedders' own settings model."""
    return EmbedderSettings(
        kind=settings.embedder_kind,
        model=settings.embedder_model,
        base_url=settings.embedder_base_url,
        api_key=settings.embedder_api_key,
        timeout_s=settings.embedder_timeout_s,
        batch_size=settings.embedder_batch_size,
        dim=settings.embedder_dim,
        num_threads=settings.embedder_num_threads,
    )


def parse_limits(settings: Settings) -> ParseLimits:
    return ParseLimits(
        max_text_bytes=max(1, int(settings.knowledge_max_text_mb * MB)),
        max_pdf_bytes=max(1, int(settings.knowledge_max_pdf_mb * MB)),
        max_office_bytes=max(1, int(settings.knowledge_max_office_mb * MB)),
    )


class KnowledgeRuntime:
    """Lazily built store and embedder; ``warm_up`` loads both (the model takes a second)."""

    def __init__(self, *, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self._lock = threading.Lock()
        self._store: KnowledgeStore | None = None
        self._store_warm = False
        self._embedder: Embedder | None = None
        self._embedder_warm = False
        self.embedder_error: str | None = None
        self.warming = False
        # Optional second stage (knowledge.retrieval.Reranker); none ships with a usable model.
        self.reranker: Reranker | None = None

    @property
    def embedder(self) -> Embedder:
        """The configured embedder, warmed up (loads the model on first use)."""
        with self._lock:
            if self._embedder is None:
                self._embedder = create_embedder(embedder_settings(self.settings))
            embedder = self._embedder
            if not self._embedder_warm:
                try:
                    embedder.warm_up()
                except Exception as exc:
                    self.embedder_error = str(exc) or type(exc).__name__
                    raise
                self._embedder_warm = True
                self.embedder_error = None
            return embedder

    def identity(self) -> tuple[str, int]:
        """(model name, dimension) that new collections record; a local model is not loaded."""
        with self._lock:
            if self._embedder is None:
                self._embedder = create_embedder(embedder_settings(self.settings))
            embedder = self._embedder
        return embedder.name, embedder.dim

    @property
    def embedder_ready(self) -> bool:
        return self._embedder_warm

    def writer_store(self) -> KnowledgeStore:
        """The store for writes: no search index is loaded (workers never search)."""
        with self._lock:
            return self._ensure_store()

    def search_store(self) -> KnowledgeStore:
        """The store for searches, warmed up (loads the embedded vector index)."""
        with self._lock:
            store = self._ensure_store()
            if not self._store_warm:
                store.warm_up()
                self._store_warm = True
            return store

    def _ensure_store(self) -> KnowledgeStore:
        if self._store is None:
            from aiharness.knowledge.stores.factory import create_knowledge_store

            self._store = create_knowledge_store(settings=self.settings, engine=self.engine)
        return self._store

    def search(
        self, *, session: Session, query: str, k: int, mode: SearchMode, collection: str | None
    ) -> list[SearchHit]:
        """Search with this runtime's store, embedder and reranker (API, UI and CLI alike)."""
        from aiharness.knowledge import retrieval

        return retrieval.search(
            session=session,
            store=self.search_store(),
            embedder=lambda: self.embedder,
            settings=self.settings,
            query=query,
            k=k,
            mode=mode,
            collection=collection,
            reranker=self.reranker,
        )

    def warm_up(self) -> None:
        """Load the index and the model now (the lifespan runs this in a background thread)."""
        self.warming = True
        try:
            self.search_store()
            self.embedder  # noqa: B018 - the property loads the model
        finally:
            self.warming = False

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
                self._store_warm = False
            if self._embedder is not None:
                self._embedder.close()
                self._embedder = None
                self._embedder_warm = False


_runtimes: dict[tuple[str, EmbedderSettings], KnowledgeRuntime] = {}
_runtimes_lock = threading.Lock()


def runtime_for(*, settings: Settings, engine: Engine) -> KnowledgeRuntime:
    """One runtime per (database, embedder) in a process: workers reuse the loaded model."""
    key = (engine.url.render_as_string(hide_password=False), embedder_settings(settings))
    with _runtimes_lock:
        runtime = _runtimes.get(key)
        if runtime is None:
            runtime = KnowledgeRuntime(settings=settings, engine=engine)
            _runtimes[key] = runtime
        return runtime
