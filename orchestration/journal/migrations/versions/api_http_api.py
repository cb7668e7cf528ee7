"""Runs carry metadata and an idempotency key; API keys are stored hashed.

Revision ID: api
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "api"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the run columns the HTTP API writes and the table of API keys."""
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("metadata", sa.JSON()))
        batch.add_column(sa.Column("idempotency_key", sa.String(255)))
        batch.add_column(sa.Column("request_hash", sa.String(64)))
        batch.create_unique_constraint("uq_runs_tenant_idempotency", ["tenant", "idempotency_key"])
    op.create_index("ix_runs_tenant_created", "runs", ["tenant", "created_at"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False, index=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_table("api_keys")
    op.drop_index("ix_runs_tenant_created", "runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint("uq_runs_tenant_idempotency", type_="unique")
        batch.drop_column("request_hash")
        batch.drop_column("idempotency_key")
        batch.drop_column("metadata")
