"""gateway: usage records.

Revision ID: 0007_gateway
Revises: 0006_knowledge_collection_uid
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from aiharness.db.base import UTCDateTime

revision: str = "0007_gateway"
down_revision: str | None = "0006_knowledge_collection_uid"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gateway_usage",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("caller", sa.String(length=128), nullable=True),
        sa.Column("endpoint", sa.String(length=32), nullable=False),
        sa.Column("alias", sa.String(length=128), nullable=False),
        sa.Column("backend", sa.String(length=128), nullable=True),
        sa.Column("model", sa.String(length=256), nullable=True),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("tokens_from_backend", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("ttft_ms", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("failovers", sa.Integer(), nullable=False),
        sa.Column("route", sa.String(length=512), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_usage")),
    )
    with op.batch_alter_table("gateway_usage") as batch:
        batch.create_index(batch.f("ix_gateway_usage_created_at"), ["created_at"])
        batch.create_index(batch.f("ix_gateway_usage_alias"), ["alias"])
        batch.create_index(batch.f("ix_gateway_usage_backend"), ["backend"])
        batch.create_index(batch.f("ix_gateway_usage_status"), ["status"])


def downgrade() -> None:
    op.drop_table("gateway_usage")
