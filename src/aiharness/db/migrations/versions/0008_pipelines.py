"""pipelines: datasets, versions, runs, steps, watched files.

Revision ID: 0008_pipelines
Revises: 0007_gateway
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from aiharness.db.base import UTCDateTime

revision: str = "0008_pipelines"
down_revision: str | None = "0007_gateway"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pl_datasets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pl_datasets")),
        sa.UniqueConstraint("name", name=op.f("uq_pl_datasets_name")),
    )
    op.create_table(
        "pl_dataset_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("original_name", sa.String(length=500), nullable=False),
        sa.Column("stored_path", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["pl_datasets.id"],
            name=op.f("fk_pl_dataset_versions_dataset_id_pl_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pl_dataset_versions")),
        sa.UniqueConstraint("dataset_id", "sha256", name=op.f("uq_pl_dataset_versions_dataset_id")),
    )
    with op.batch_alter_table("pl_dataset_versions") as batch:
        batch.create_index(batch.f("ix_pl_dataset_versions_dataset_id"), ["dataset_id"])
    op.create_table(
        "pl_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("pipeline", sa.String(length=128), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("rerun_of", sa.String(length=32), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["pl_datasets.id"], name=op.f("fk_pl_runs_dataset_id_pl_datasets")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["pl_dataset_versions.id"],
            name=op.f("fk_pl_runs_version_id_pl_dataset_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pl_runs")),
    )
    with op.batch_alter_table("pl_runs") as batch:
        batch.create_index(batch.f("ix_pl_runs_dataset_id"), ["dataset_id"])
        batch.create_index(batch.f("ix_pl_runs_status"), ["status"])
        batch.create_index(batch.f("ix_pl_runs_created_at"), ["created_at"])
    op.create_table(
        "pl_run_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("artifacts", sa.JSON(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["pl_runs.id"],
            name=op.f("fk_pl_run_steps_run_id_pl_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pl_run_steps")),
        sa.UniqueConstraint("run_id", "position", name=op.f("uq_pl_run_steps_run_id")),
    )
    with op.batch_alter_table("pl_run_steps") as batch:
        batch.create_index(batch.f("ix_pl_run_steps_run_id"), ["run_id"])
    op.create_table(
        "pl_inbound_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("seen_complete_at", UTCDateTime(), nullable=True),
        sa.Column("processed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pl_inbound_files")),
        sa.UniqueConstraint(
            "path", "size_bytes", "mtime_ns", name=op.f("uq_pl_inbound_files_path")
        ),
    )


def downgrade() -> None:
    op.drop_table("pl_inbound_files")
    op.drop_table("pl_run_steps")
    op.drop_table("pl_runs")
    op.drop_table("pl_dataset_versions")
    op.drop_table("pl_datasets")
