"""The console: people's sessions (signed in with an API key) and the index its live lists read.

Revision ID: console
Revises: feedback
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "console"
down_revision = "feedback"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the sessions table and index the runs by tenant and last change."""
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("key_id", sa.String(36), nullable=False, index=True),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_runs_tenant_updated", "runs", ["tenant", "updated_at"])


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_runs_tenant_updated", "runs")
    op.drop_table("console_sessions")
