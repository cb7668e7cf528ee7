"""Eval results, release records and the LLM response cache.

Revision ID: evals
Revises: api
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "evals"
down_revision = "api"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the three tables."""
    op.create_table(
        "eval_results",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("agent", sa.String(128), nullable=False),
        sa.Column("agent_version", sa.String(64), nullable=False),
        sa.Column("dataset_hash", sa.String(64), nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("admin", sa.Boolean(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("cases", sa.JSON(), nullable=False),
        sa.Column("regression", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_eval_results_agent_created", "eval_results", ["agent", "created_at"])
    op.create_table(
        "releases",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("git_commit", sa.String(64), nullable=False),
        sa.Column("lock_hash", sa.String(64), nullable=False),
        sa.Column("agents", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "llm_response_cache",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("deployment", sa.String(160), nullable=False),
        sa.Column("reply", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_llm_response_cache_created", "llm_response_cache", ["created_at"])


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_llm_response_cache_created", "llm_response_cache")
    op.drop_table("llm_response_cache")
    op.drop_table("releases")
    op.drop_index("ix_eval_results_agent_created", "eval_results")
    op.drop_table("eval_results")
