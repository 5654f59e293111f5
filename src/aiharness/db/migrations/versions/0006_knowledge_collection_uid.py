"""Knowledge: a random uid per collection (caches and index files are keyed by it).

The embedded vector index keys its in-memory copies and its files by the collection's uid, so a
collection deleted and created again under the same name (and, in SQLite, possibly the same
reused integer id) can never be served the old collection's vectors.

SQLite: the column is added in place and made unique by an index. The table is deliberately
not recreated: with foreign keys on, dropping the old ``collections`` table would cascade into
``documents`` and ``chunks``.

Revision ID: 0006_knowledge_collection_uid
Revises: 0005_pg_inline_tsvector
Create Date: 2026-12-02
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_knowledge_collection_uid"
down_revision: str | None = "0005_pg_inline_tsvector"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column("collections", sa.Column("uid", sa.String(length=32), nullable=True))
    for (collection_id,) in bind.execute(sa.text("SELECT id FROM collections")).all():
        bind.execute(
            sa.text("UPDATE collections SET uid = :u WHERE id = :c"),
            {"u": uuid.uuid4().hex, "c": collection_id},
        )
    if bind.dialect.name == "postgresql":
        op.alter_column("collections", "uid", existing_type=sa.String(length=32), nullable=False)
    op.create_index(op.f("ix_collections_uid"), "collections", ["uid"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_collections_uid"), table_name="collections")
    with op.batch_alter_table("collections") as batch:
        batch.drop_column("uid")
