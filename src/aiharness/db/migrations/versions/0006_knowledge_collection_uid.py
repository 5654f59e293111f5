"""knowledge: a random uid per collection (caches and index files are keyed by it).

Placeholder in the migration chain until the feature's change lands: it changes nothing.

Revision ID: 0006_knowledge_collection_uid
Revises: 0005_pg_inline_tsvector
Create Date: 2026-12-02
"""

from collections.abc import Sequence

revision: str = "0006_knowledge_collection_uid"
down_revision: str | None = "0005_pg_inline_tsvector"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
