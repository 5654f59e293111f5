"""pipelines: datasets, versions, runs, steps, watched files.

Placeholder in the migration chain until the feature's change lands: it changes nothing.

Revision ID: 0008_pipelines
Revises: 0007_gateway
Create Date: 2026-12-02
"""

from collections.abc import Sequence

revision: str = "0008_pipelines"
down_revision: str | None = "0007_gateway"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
