"""knowledge: per-collection keyword statistics on SQLite.

SQLite's FTS5 ``bm25()`` takes its document frequencies and average length from the whole FTS
table, so adding one collection changed another's rankings (issue 14). The embedded store now
computes BM25 itself from per-collection document frequencies kept in ``chunk_term_stats`` (the
table PostgreSQL has had since 0003), filled here from the chunks already indexed.

Revision ID: 0009_knowledge_keyword_stats
Revises: 0008_pipelines
Create Date: 2026-12-02
"""

from collections import Counter
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_knowledge_keyword_stats"
down_revision: str | None = "0008_pipelines"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        return  # created in 0003 and kept by the PostgreSQL store since
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
    _backfill(bind)


def _backfill(bind: sa.Connection) -> None:
    """Document frequencies of the chunks already indexed, one collection at a time."""
    collections = [int(c) for c in bind.execute(sa.text("SELECT id FROM collections")).scalars()]
    insert = sa.text("INSERT INTO chunk_term_stats (collection_id, term, df) VALUES (:c, :t, :d)")
    for collection_id in collections:
        dfs: Counter[str] = Counter()
        rows = bind.execute(
            sa.text("SELECT terms FROM chunks WHERE collection_id = :c"), {"c": collection_id}
        )
        for (terms,) in rows:
            dfs.update(set(terms.split(" ")) if terms else ())
        if dfs:
            bind.execute(
                insert, [{"c": collection_id, "t": t, "d": d} for t, d in sorted(dfs.items())]
            )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.drop_table("chunk_term_stats")
