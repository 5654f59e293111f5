"""Knowledge: a random uid per collection; ids of deleted collections and documents not reused.

The embedded vector index keys its in-memory copies and its files by the collection's uid, so a
collection deleted and created again under the same name (and, in SQLite, the same reused
integer id) can never be served the old collection's vectors. SQLite tables get AUTOINCREMENT so
that ids of deleted rows are never handed out again.

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
    sqlite = bind.dialect.name == "sqlite"
    with op.batch_alter_table(
        "collections",
        recreate="always" if sqlite else "auto",
        table_kwargs={"sqlite_autoincrement": True} if sqlite else {},
    ) as batch:
        batch.add_column(sa.Column("uid", sa.String(length=32), nullable=True))
    for (collection_id,) in bind.execute(sa.text("SELECT id FROM collections")).all():
        bind.execute(
            sa.text("UPDATE collections SET uid = :u WHERE id = :c"),
            {"u": uuid.uuid4().hex, "c": collection_id},
        )
    with op.batch_alter_table("collections") as batch:
        batch.alter_column("uid", existing_type=sa.String(length=32), nullable=False)
        batch.create_unique_constraint(op.f("uq_collections_uid"), ["uid"])
    if sqlite:
        with op.batch_alter_table(
            "documents", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass


def downgrade() -> None:
    with op.batch_alter_table("collections") as batch:
        batch.drop_constraint(op.f("uq_collections_uid"), type_="unique")
        batch.drop_column("uid")
