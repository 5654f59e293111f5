"""The knowledge parts one process uses (store, embedder), built on first use, never at import.

Each process's platform holds one ``KnowledgeRuntime`` (the knowledge feature's install hook
builds it): the API serves searches with it, a worker's ingest and re-embed jobs get it from
their job context, so the model loads once per process and is closed with the platform.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from aiharness.config import Settings
from aiharness.knowledge.analysis import split_sentences_batch
from aiharness.knowledge.embedders import Embedder, create_embedder
from aiharness.knowledge.parsers import ParseLimits
from aiharness.knowledge.parsers.limits import MB
from aiharness.knowledge.settings import KnowledgeSettings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from aiharness.knowledge.retrieval import Reranker
    from aiharness.knowledge.schemas import (
        CollectionCreate,
        CollectionPublic,
        SearchHit,
        SearchMode,
    )
    from aiharness.knowledge.stores.base import KnowledgeStore


def parse_limits(section: KnowledgeSettings) -> ParseLimits:
    return ParseLimits(
        max_text_bytes=max(1, int(section.max_text_mb * MB)),
        max_pdf_bytes=max(1, int(section.max_pdf_mb * MB)),
        max_office_bytes=max(1, int(section.max_office_mb * MB)),
    )


class KnowledgeRuntime:
    """Lazily built store and embedder; ``warm_up`` loads both (the model takes a second)."""

    def __init__(self, *, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.section = KnowledgeSettings.of(settings)
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
                self._embedder = create_embedder(self.section.embedder)
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

    @property
    def model_embedder(self) -> Embedder:
        """The embedding model itself, without the cross-language bridge that search appends
        (what the embeddings API serves: plain vectors of a known model)."""
        from aiharness.knowledge.embedders.bridge import main_embedder

        return main_embedder(self.embedder)

    def identity(self) -> tuple[str, int]:
        """(model name, dimension) that new collections record; a local model is not loaded."""
        with self._lock:
            if self._embedder is None:
                self._embedder = create_embedder(self.section.embedder)
            embedder = self._embedder
        return embedder.name, embedder.dim

    def create_collection(
        self, *, session: Session, collection_in: CollectionCreate
    ) -> CollectionPublic:
        """Record a collection with this platform's embedder and chunking defaults."""
        from aiharness.knowledge import service

        model, dim = self.identity()
        return service.create_collection(
            session=session,
            collection_in=collection_in,
            settings=self.settings,
            model=model,
            dim=dim,
        )

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
        self,
        *,
        session: Session,
        query: str,
        k: int,
        mode: SearchMode,
        collection: str | None,
        per_document: bool = False,
        allowed: frozenset[str] | None = None,
        bilingual: bool = True,
    ) -> list[SearchHit]:
        """Search with this runtime's store, embedder and reranker (API, UI and CLI alike)."""
        from aiharness.knowledge import retrieval

        return retrieval.search(
            session=session,
            store=self.search_store(),
            embedder=lambda: self.embedder,
            settings=self.section.search,
            query=query,
            k=k,
            mode=mode,
            collection=collection,
            reranker=self.reranker,
            per_document=per_document,
            allowed=allowed,
            bilingual=bilingual,
        )

    def warm_up(self) -> None:
        """Load the index and the model now (the lifespan runs this in a background thread)."""
        self.warming = True
        try:
            self.search_store()
            self.embedder  # noqa: B018 - the property loads the model
            # Kiwi loads its model on first use (seconds): the first question should not wait.
            split_sentences_batch(["펌프 점검 절차. Check the pump."])
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
