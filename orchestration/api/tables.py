"""The HTTP API's table: tenants' API keys (migrations ``api``, ``api_scopes``), on the journal's
metadata.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from orchestration.journal.tables import Base, utcnow

__all__ = [
    "ApiKey",
    "ConsoleSession",
]


class ApiKey(Base):
    """A tenant's API key: only its SHA-256 is stored; the key itself is shown once.

    ``scopes`` is what the key may do, comma-separated (``read,approve``); NULL on a key made
    before keys had scopes, which keeps every right.
    """

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(128))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    scopes: Mapped[str | None] = mapped_column(String(64))


class ConsoleSession(Base):
    """A person signed in to the console with a key: only the SHA-256 of the session's cookie
    is stored, so the table opens nothing; revoking the key ends its sessions."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(36), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
