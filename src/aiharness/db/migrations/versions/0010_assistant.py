"""assistant: chat sessions and messages, answers with their trace, feedback.

Revision ID: 0010_assistant
Revises: 0009_knowledge_keyword_stats
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from aiharness.db.base import UTCDateTime

revision: str = "0010_assistant"
down_revision: str | None = "0009_knowledge_keyword_stats"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_sessions")),
    )
    with op.batch_alter_table("chat_sessions") as batch:
        batch.create_index(batch.f("ix_chat_sessions_owner"), ["owner"])
        batch.create_index(batch.f("ix_chat_sessions_updated_at"), ["updated_at"])
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("answer_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["chat_sessions.id"],
            name=op.f("fk_chat_messages_session_id_chat_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_messages")),
    )
    with op.batch_alter_table("chat_messages") as batch:
        batch.create_index(batch.f("ix_chat_messages_session_id"), ["session_id"])
    op.create_table(
        "answers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=True),
        sa.Column("session_id", sa.String(length=32), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("search_query", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("collections", sa.JSON(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("generator", sa.String(length=16), nullable=False),
        sa.Column("refused", sa.Boolean(), nullable=False),
        sa.Column("model", sa.String(length=256), nullable=True),
        sa.Column("backend", sa.String(length=128), nullable=True),
        sa.Column("retrieval_mode", sa.String(length=16), nullable=False),
        sa.Column("fallback_reason", sa.Text(), nullable=True),
        sa.Column("prompt", sa.JSON(), nullable=True),
        sa.Column("retrieved", sa.JSON(), nullable=False),
        sa.Column("passages", sa.JSON(), nullable=False),
        sa.Column("cited", sa.JSON(), nullable=False),
        sa.Column("maybe_related", sa.JSON(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("retrieval_ms", sa.Float(), nullable=False),
        sa.Column("generation_ms", sa.Float(), nullable=False),
        sa.Column("total_ms", sa.Float(), nullable=False),
        sa.Column("ttft_ms", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answers")),
    )
    with op.batch_alter_table("answers") as batch:
        batch.create_index(batch.f("ix_answers_created_at"), ["created_at"])
        batch.create_index(batch.f("ix_answers_owner"), ["owner"])
        batch.create_index(batch.f("ix_answers_session_id"), ["session_id"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("answer_id", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=True),
        sa.Column("rating", sa.String(length=8), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("corrected_answer", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["answer_id"],
            ["answers.id"],
            name=op.f("fk_feedback_answer_id_answers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    with op.batch_alter_table("feedback") as batch:
        batch.create_index(batch.f("ix_feedback_answer_id"), ["answer_id"])
        batch.create_index(batch.f("ix_feedback_rating"), ["rating"])
        batch.create_index(batch.f("ix_feedback_created_at"), ["created_at"])


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_table("answers")
    op.drop_table("chat_messages")
    op.drop_table("chat_sessions")
