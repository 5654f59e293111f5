"""Knowledge base: collections, documents, chunks and their keyword/vector search structures.

SQLite gets an FTS5 table over ``chunks.terms`` kept in step by triggers. PostgreSQL gets the
pgvector extension, a ``vector`` embedding column, a ``tsvector`` column with a GIN index and a
per-collection term statistics table for BM25. HNSW indexes are per collection (partial, fixed
dimension) and are created by the PostgreSQL store when a collection first receives vectors.

Revision ID: 0003_knowledge
Revises: 0002_jobs
Create Date: 2026-11-21
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import VECTOR
from sqlalchemy.dialects import postgresql

from aiharness.db.base import UTCDateTime

revision: str = "0003_knowledge"
down_revision: str | None = "0002_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_FTS = [
    # External-content FTS5 over the space-joined, pre-analysed terms. unicode61 with diacritics
    # kept: terms are already normalised by our analyzer, the tokenizer only splits on spaces.
    "CREATE VIRTUAL TABLE chunks_fts USING fts5(terms, content='chunks', content_rowid='id', "
    'tokenize="unicode61 remove_diacritics 0")',
    # Per-term document counts, read by keyword search to pick which terms drive the match.
    "CREATE VIRTUAL TABLE chunks_fts_vocab USING fts5vocab(chunks_fts, 'row')",
    "CREATE TRIGGER chunks_fts_ai AFTER INSERT ON chunks BEGIN "
    "INSERT INTO chunks_fts(rowid, terms) VALUES (new.id, new.terms); END",
    # Also fires for ON DELETE CASCADE from documents/collections, so keyword entries never dangle.
    "CREATE TRIGGER chunks_fts_ad AFTER DELETE ON chunks BEGIN "
    "INSERT INTO chunks_fts(chunks_fts, rowid, terms) VALUES ('delete', old.id, old.terms); END",
    "CREATE TRIGGER chunks_fts_au AFTER UPDATE OF terms ON chunks BEGIN "
    "INSERT INTO chunks_fts(chunks_fts, rowid, terms) VALUES ('delete', old.id, old.terms); "
    "INSERT INTO chunks_fts(rowid, terms) VALUES (new.id, new.terms); END",
]


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _vector_available(bind: sa.Connection) -> bool:
    query = sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
    return bind.execute(query).first() is not None


def upgrade() -> None:
    bind = op.get_bind()
    is_pg = bind.dialect.name == "postgresql"
    # A PostgreSQL server without pgvector still migrates (the rest of the platform works);
    # the PostgreSQL knowledge store adds the extension and the column in warm_up() once
    # pgvector is installed, and refuses to start with a clear message until then.
    has_vector = is_pg and _vector_available(bind)
    if has_vector:
        op.execute("CREATE EXTENSION IF NOT EXISTS vector")

    op.create_table(
        "collections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("embedding_model", sa.String(length=200), nullable=False),
        sa.Column("embedding_dim", sa.Integer(), nullable=False),
        sa.Column("chunking", sa.JSON(), nullable=False),
        sa.Column("analyzer", sa.String(length=64), nullable=False),
        sa.Column("index_generation", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collections")),
        sa.UniqueConstraint("name", name=op.f("uq_collections_name")),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("source_path", sa.String(length=1024), nullable=False),
        sa.Column("file_name", sa.String(length=512), nullable=False),
        sa.Column("mime_type", sa.String(length=200), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("page_count", sa.Integer(), nullable=True),
        sa.Column("chunk_count", sa.Integer(), nullable=False),
        sa.Column("metadata", _json(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("indexed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.id"],
            name=op.f("fk_documents_collection_id_collections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("collection_id", "source_path", name="uq_documents_collection_source"),
    )
    with op.batch_alter_table("documents") as batch:
        batch.create_index(batch.f("ix_documents_collection_id"), ["collection_id"])
        batch.create_index(batch.f("ix_documents_status"), ["status"])
        batch.create_index("ix_documents_collection_hash", ["collection_id", "content_hash"])

    embedding: list[sa.Column[Any]] = []
    if has_vector:
        embedding.append(sa.Column("embedding", VECTOR(), nullable=True))
    elif not is_pg:
        embedding.append(sa.Column("embedding", sa.LargeBinary(), nullable=True))
    op.create_table(
        "chunks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("chunk_index", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=True),
        sa.Column("heading", sa.Text(), nullable=True),
        sa.Column("token_count", sa.Integer(), nullable=False),
        sa.Column("metadata", _json(), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("term_count", sa.Integer(), nullable=False),
        *embedding,
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_chunks_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.id"],
            name=op.f("fk_chunks_collection_id_collections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chunks")),
        sa.UniqueConstraint("document_id", "chunk_index", name="uq_chunks_document_index"),
        # Ids never reused on SQLite: the embedded vector index syncs by "ids above my highest".
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("chunks") as batch:
        batch.create_index("ix_chunks_collection_id", ["collection_id"])

    if is_pg:
        op.add_column("chunks", sa.Column("tsv", postgresql.TSVECTOR(), nullable=True))
        op.execute("CREATE INDEX ix_chunks_tsv ON chunks USING gin (tsv)")
        op.execute("CREATE INDEX ix_chunks_metadata ON chunks USING gin (metadata jsonb_path_ops)")
        # Document frequency per (collection, term), kept by the store in the chunk-write
        # transaction; BM25's idf reads it instead of counting matches at query time.
        op.create_table(
            "chunk_term_stats",
            sa.Column("collection_id", sa.Integer(), nullable=False),
            sa.Column("term", sa.Text(), nullable=False),
            sa.Column("df", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(
                ["collection_id"],
                ["collections.id"],
                name=op.f("fk_chunk_term_stats_collection_id_collections"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("collection_id", "term", name=op.f("pk_chunk_term_stats")),
        )
    else:
        for statement in SQLITE_FTS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_table("chunk_term_stats")
    else:
        for name in ("chunks_fts_au", "chunks_fts_ad", "chunks_fts_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS chunks_fts_vocab")
        op.execute("DROP TABLE IF EXISTS chunks_fts")
    op.drop_table("chunks")
    op.drop_table("documents")
    op.drop_table("collections")
