"""gateway: usage records.

Placeholder in the migration chain until the feature's change lands: it changes nothing.

Revision ID: 0007_gateway
Revises: 0006_knowledge_collection_uid
Create Date: 2026-12-02
"""

from collections.abc import Sequence

revision: str = "0007_gateway"
down_revision: str | None = "0006_knowledge_collection_uid"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
