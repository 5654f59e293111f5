"""Knowledge stores: chunk rows, keyword index and vectors behind one ``KnowledgeStore``."""

from aiharness.knowledge.stores.base import (
    ChunkHit,
    ChunkRecord,
    KnowledgeStore,
    ScoredChunk,
    SearchFilters,
    StoreError,
    StoreStats,
)
from aiharness.knowledge.stores.factory import create_knowledge_store

__all__ = [
    "ChunkHit",
    "ChunkRecord",
    "KnowledgeStore",
    "ScoredChunk",
    "SearchFilters",
    "StoreError",
    "StoreStats",
    "create_knowledge_store",
]
