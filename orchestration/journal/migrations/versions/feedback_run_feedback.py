"""Feedback on runs: one row per run and giver, the later feedback replacing the earlier.

Revision ID: feedback
Revises: api_scopes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "feedback"
down_revision = "api_scopes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the run_feedback table; it goes with its run (ON DELETE CASCADE)."""
    op.create_table(
        "run_feedback",
        sa.Column(
            "run_id",
            sa.String(36),
            sa.ForeignKey("runs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("giver", sa.String(128), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("labels", sa.JSON),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop it again."""
    op.drop_table("run_feedback")
