"""Agent versions kept by content hash, canary rollouts, their events and each run's variant.

Revision ID: rollouts
Revises: knowledge
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "rollouts"
down_revision = "knowledge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the four tables."""
    op.create_table(
        "agent_versions",
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("agent", sa.String(128), nullable=False),
        sa.Column("variant", sa.String(64), nullable=False),
        sa.Column("prompt_template", sa.Text(), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("fallbacks", sa.JSON(), nullable=False),
        sa.Column("tools", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "rollouts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("agent", sa.String(128), nullable=False),
        sa.Column("variant", sa.String(64), nullable=False),
        sa.Column("variant_version", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("min_runs", sa.Integer(), nullable=False),
        sa.Column("dwell_seconds", sa.Integer(), nullable=False),
        sa.Column("sticky", sa.String(16), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("stage_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_rollouts_agent_status", "rollouts", ["agent", "status"])
    op.create_table(
        "rollout_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "rollout_id",
            sa.String(36),
            sa.ForeignKey("rollouts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=True),
        sa.Column("alert", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_rollout_events_rollout", "rollout_events", ["rollout_id", "id"])
    op.create_table(
        "run_variants",
        sa.Column("run_id", sa.String(36), primary_key=True),
        sa.Column("agent", sa.String(128), nullable=False),
        sa.Column("variant", sa.String(64), nullable=False),
        sa.Column("agent_version", sa.String(64), nullable=False),
        sa.Column("rollout_id", sa.String(36), nullable=True),
        sa.Column("stage", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_run_variants_rollout_stage", "run_variants", ["rollout_id", "stage"])


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_run_variants_rollout_stage", "run_variants")
    op.drop_table("run_variants")
    op.drop_index("ix_rollout_events_rollout", "rollout_events")
    op.drop_table("rollout_events")
    op.drop_index("ix_rollouts_agent_status", "rollouts")
    op.drop_table("rollouts")
    op.drop_table("agent_versions")
