"""The approval webhook: one row per approval announced, so it is announced once.

Revision ID: webhooks
Revises: console
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "webhooks"
down_revision = "console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the approval_webhooks table."""
    op.create_table(
        "approval_webhooks",
        sa.Column("run_id", sa.String(36), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("sender", sa.String(255), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text),
    )


def downgrade() -> None:
    """Drop it again."""
    op.drop_table("approval_webhooks")
