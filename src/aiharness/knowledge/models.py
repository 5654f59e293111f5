"""ORM tables of the knowledge base: collections, documents and their chunks.

Backend-specific search structures are not mapped here: the SQLite FTS5 table and its triggers, and
PostgreSQL's ``tsv`` column, term statistics and per-collection HNSW indexes are created by the
0003 migration and the stores (see docs/storage.md).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import numpy as np
from pgvector.sqlalchemy import VECTOR
from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from aiharness.db.base import Base, UTCDateTime, utcnow

SOURCE_KINDS = ("upload", "path", "inbound")
DOCUMENT_STATUSES = ("queued", "parsing", "embedding", "ready", "failed")

# JSONB on PostgreSQL so metadata filters can use containment (@>); JSON text on SQLite.
PortableJSON = JSON().with_variant(JSONB(), "postgresql")


class EmbeddingVector(TypeDecorator[np.ndarray]):
    """A float32 vector: pgvector ``vector`` on PostgreSQL, float32 bytes on SQLite."""

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(VECTOR())
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: np.ndarray | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        array = np.ascontiguousarray(value, dtype="<f4")
        return array if dialect.name == "postgresql" else array.tobytes()

    def process_result_value(self, value: Any, dialect: Dialect) -> np.ndarray | None:
        if value is None:
            return None
        if isinstance(value, bytes | bytearray | memoryview):
            return np.frombuffer(bytes(value), dtype="<f4").astype(np.float32)
        return np.asarray(value, dtype=np.float32)


class Collection(Base):
    """A named set of documents searched together; records how its vectors and terms were made."""

    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Never reused: caches and index files are keyed by it, not by the (reusable) name.
    uid: Mapped[str] = mapped_column(
        String(32), unique=True, index=True, default=lambda: uuid.uuid4().hex
    )
    name: Mapped[str] = mapped_column(String(128), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    embedding_model: Mapped[str] = mapped_column(String(200))
    embedding_dim: Mapped[int] = mapped_column(Integer)
    chunking: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    analyzer: Mapped[str] = mapped_column(String(64), default="kiwi")
    # Bumped in every chunk write of this collection; the embedded vector index compares it to
    # know whether its in-memory copy or its file is stale.
    index_generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Document(Base):
    """One source file in a collection: where it came from, its content hash and its status.

    Identity is (collection, source path): re-ingesting the same path with a new hash replaces
    the chunks of this row; the same hash is a no-op (the ingest service compares hashes).
    """

    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("collection_id", "source_path", name="uq_documents_collection_source"),
        Index("ix_documents_collection_hash", "collection_id", "content_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), index=True
    )
    source_kind: Mapped[str] = mapped_column(String(16))
    source_path: Mapped[str] = mapped_column(String(1024))
    file_name: Mapped[str] = mapped_column(String(512))
    mime_type: Mapped[str] = mapped_column(String(200), default="application/octet-stream")
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    content_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    page_count: Mapped[int | None] = mapped_column(Integer, default=None)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", PortableJSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    indexed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Chunk(Base):
    """A passage of a document with its analysed terms and its embedding.

    ``collection_id`` is denormalised from the document so that filters and the per-collection
    vector indexes need no join. Rows are written only through a ``KnowledgeStore``.
    """

    __tablename__ = "chunks"
    __table_args__ = (
        UniqueConstraint("document_id", "chunk_index", name="uq_chunks_document_index"),
        Index("ix_chunks_collection_id", "collection_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column("chunk_index", Integer)
    text: Mapped[str] = mapped_column(Text)
    page: Mapped[int | None] = mapped_column(Integer, default=None)
    heading: Mapped[str | None] = mapped_column(Text, default=None)
    token_count: Mapped[int] = mapped_column(Integer, default=0)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", PortableJSON, default=dict)
    # Pre-analysed keyword terms joined by single spaces (the analyzer's output, in order).
    terms: Mapped[str] = mapped_column(Text, default="")
    term_count: Mapped[int] = mapped_column(Integer, default=0)
    # Deferred: never loaded unless asked for (and absent on a PostgreSQL without pgvector
    # until the store adds it, see PostgresKnowledgeStore.warm_up).
    embedding: Mapped[np.ndarray | None] = mapped_column(
        EmbeddingVector(), default=None, deferred=True
    )
