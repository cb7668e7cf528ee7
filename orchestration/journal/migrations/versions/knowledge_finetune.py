"""Fine-tuning jobs and the model candidates they produce (issue 12).

Revision ID: knowledge
Revises: workflows
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "knowledge"
down_revision = "workflows"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``finetune_jobs`` and ``model_candidates``."""
    op.create_table(
        "finetune_jobs",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("agent", sa.String(128), nullable=False),
        sa.Column("base_model", sa.String(128), nullable=False),
        sa.Column("training_file", sa.String(128), nullable=False),
        sa.Column("examples", sa.Integer, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("fine_tuned_model", sa.String(255)),
        sa.Column("error", sa.Text),
        sa.Column("checks", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_finetune_jobs_agent", "finetune_jobs", ["agent"])
    op.create_table(
        "model_candidates",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("agent", sa.String(128), nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("agent", "model", name="uq_model_candidates_agent_model"),
    )
    op.create_index("ix_model_candidates_agent", "model_candidates", ["agent"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_model_candidates_agent", "model_candidates")
    op.drop_table("model_candidates")
    op.drop_index("ix_finetune_jobs_agent", "finetune_jobs")
    op.drop_table("finetune_jobs")
