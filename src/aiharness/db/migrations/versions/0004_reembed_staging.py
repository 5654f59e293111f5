"""Staging table for re-embedding a collection (the ``knowledge.reembed`` job).

New vectors wait here, per chunk and tagged with the model that made them, until the job swaps
them into ``chunks.embedding`` in one transaction. No search reads this table. A chunk id has
no foreign key: a chunk deleted while the job runs simply leaves a row that the swap ignores and
deletes with the rest. Vectors are float32 bytes on SQLite and ``real[]`` on PostgreSQL, which
needs no pgvector at migration time and casts to ``vector`` in the swap.

Revision ID: 0004_reembed_staging
Revises: 0003_knowledge
Create Date: 2026-11-21
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_reembed_staging"
down_revision: str | None = "0003_knowledge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    is_pg = op.get_bind().dialect.name == "postgresql"
    vector_type: sa.types.TypeEngine[Any] = (
        postgresql.ARRAY(sa.REAL()) if is_pg else sa.LargeBinary()
    )
    op.create_table(
        "chunk_vector_staging",
        sa.Column("chunk_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("embedding", vector_type, nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.id"],
            name=op.f("fk_chunk_vector_staging_collection_id_collections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("chunk_id", name=op.f("pk_chunk_vector_staging")),
    )
    with op.batch_alter_table("chunk_vector_staging") as batch:
        batch.create_index("ix_chunk_vector_staging_collection_id", ["collection_id"])
    if is_pg:
        # Random floats do not compress: skip the attempt (pgvector's own type does the same).
        op.execute("ALTER TABLE chunk_vector_staging ALTER COLUMN embedding SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_table("chunk_vector_staging")
