"""LLM steps record the deployment that answered, the model asked for, and the request's hash.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the deployment columns and the indexes the cache and daily budgets read."""
    with op.batch_alter_table("steps") as batch:
        batch.add_column(sa.Column("deployment", sa.String(160)))
        batch.add_column(sa.Column("requested_model", sa.String(128)))
        batch.add_column(sa.Column("request_hash", sa.String(64)))
    op.create_index("ix_steps_request_hash", "steps", ["request_hash"])
    op.create_index("ix_steps_finished_at", "steps", ["finished_at"])


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_steps_finished_at", "steps")
    op.drop_index("ix_steps_request_hash", "steps")
    with op.batch_alter_table("steps") as batch:
        batch.drop_column("request_hash")
        batch.drop_column("requested_model")
        batch.drop_column("deployment")
