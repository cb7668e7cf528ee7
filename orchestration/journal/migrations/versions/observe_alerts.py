"""Alerts: each threshold breach the alert rules found, and its webhook delivery.

Revision ID: observe
Revises: rollouts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "observe"
down_revision = "rollouts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the alerts table and the index the cooldown check reads."""
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(160), nullable=False),
        sa.Column("value", sa.Numeric(18, 6), nullable=False),
        sa.Column("threshold", sa.Numeric(18, 6), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.Column("delivery_error", sa.Text),
    )
    op.create_index("ix_alerts_rule_subject_fired", "alerts", ["rule", "subject", "fired_at"])


def downgrade() -> None:
    """Drop it again."""
    op.drop_index("ix_alerts_rule_subject_fired", "alerts")
    op.drop_table("alerts")
