"""API keys carry scopes (read, submit, approve, admin); a key without any keeps every right.

Revision ID: api_scopes
Revises: observe
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "api_scopes"
down_revision = "observe"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the nullable ``scopes`` column: keys made before it (NULL) keep every right."""
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("scopes", sa.String(64)))


def downgrade() -> None:
    """Drop it again."""
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("scopes")
