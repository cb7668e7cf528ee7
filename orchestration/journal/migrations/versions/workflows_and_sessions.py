"""Workflow runs (parent, stage, kind), sessions, what memory a run loaded, long-term facts.

Revision ID: workflows
Revises: evals
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "workflows"
down_revision = "evals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the run columns and the facts table."""
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="agent"))
        batch.add_column(sa.Column("parent_id", sa.String(36)))
        batch.add_column(sa.Column("stage", sa.String(64)))
        batch.add_column(sa.Column("session", sa.String(128)))
        batch.add_column(sa.Column("memory", sa.JSON()))
    op.create_index("ix_runs_parent_id", "runs", ["parent_id"])
    op.create_index("ix_runs_session", "runs", ["session"])
    op.create_table(
        "memory_facts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("session", sa.String(128), nullable=False),
        sa.Column("fact", sa.Text(), nullable=False),
        sa.Column("run_id", sa.String(36)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_memory_facts_session", "memory_facts", ["tenant", "session"])


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_memory_facts_session", "memory_facts")
    op.drop_table("memory_facts")
    op.drop_index("ix_runs_session", "runs")
    op.drop_index("ix_runs_parent_id", "runs")
    with op.batch_alter_table("runs") as batch:
        for column in ("memory", "session", "stage", "parent_id", "kind"):
            batch.drop_column(column)
