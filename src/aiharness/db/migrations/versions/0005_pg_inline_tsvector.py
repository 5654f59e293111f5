"""PostgreSQL: keep each chunk's tsvector inline in its row (``STORAGE MAIN``).

A chunk row (text, terms, embedding, tsvector) is wider than PostgreSQL's 2 KB TOAST threshold,
and with the default ``EXTENDED`` storage the tsvector was among the columns moved out of line,
so BM25 scoring fetched it from the TOAST table for every candidate. ``MAIN`` makes PostgreSQL
move the other wide columns first: keyword p95 at 100k chunks fell from 57-62 ms to 43 ms
(docs/storage.md). Rows written before this keep their layout until they are rewritten
(re-ingested, or ``VACUUM FULL chunks``). SQLite: nothing to do.

Revision ID: 0005_pg_inline_tsvector
Revises: 0004_reembed_staging
Create Date: 2026-11-21
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005_pg_inline_tsvector"
down_revision: str | None = "0004_reembed_staging"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE chunks ALTER COLUMN tsv SET STORAGE MAIN")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE chunks ALTER COLUMN tsv SET STORAGE EXTENDED")
