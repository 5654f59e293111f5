"""knowledge: per-collection keyword statistics.

Placeholder in the migration chain until the feature's change lands: it changes nothing.

Revision ID: 0009_knowledge_keyword_stats
Revises: 0008_pipelines
Create Date: 2026-12-02
"""

from collections.abc import Sequence

revision: str = "0009_knowledge_keyword_stats"
down_revision: str | None = "0008_pipelines"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
