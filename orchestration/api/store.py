"""The API's SQL: the only module that reads or writes ``api_keys`` and ``console_sessions``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select, update

from orchestration.api.scopes import scopes_of, stored
from orchestration.api.tables import ApiKey, ConsoleSession
from orchestration.journal.engine import write
from orchestration.journal.tables import utcnow

if TYPE_CHECKING:
    from orchestration.journal import Journal

__all__ = [
    "KeyRecord",
    "LiveKey",
    "delete_session",
    "insert_key",
    "insert_session",
    "live_key",
    "revoke_keys",
    "select_keys",
    "session_key",
]


@dataclass(frozen=True)
class KeyRecord:
    """A key as listed: never the key itself (nor its digest).

    ``scopes`` are what it may do, in :data:`~orchestration.api.scopes.SCOPES` order (every
    scope for a key made before keys had scopes).
    """

    id: str
    tenant: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class LiveKey:
    """Who a live key belongs to, and what it may do."""

    id: str
    tenant: str
    name: str
    scopes: tuple[str, ...]


def insert_key(journal: Journal, row: KeyRecord, key_hash: str) -> None:
    """Store a new key: its row and the SHA-256 of the key, never the key."""
    with write(journal.engine) as connection:
        connection.execute(
            insert(ApiKey).values(
                id=row.id,
                tenant=row.tenant,
                name=row.name,
                key_hash=key_hash,
                prefix=row.prefix,
                created_at=row.created_at,
                scopes=stored(row.scopes),
            )
        )


def select_keys(journal: Journal, tenant: str | None = None) -> list[KeyRecord]:
    """Every key (or one tenant's), oldest first, revoked ones included."""
    query = select(ApiKey).order_by(ApiKey.created_at)
    if tenant is not None:
        query = query.where(ApiKey.tenant == tenant)
    with journal.engine.connect() as connection:
        return [
            KeyRecord(
                id=row.id,
                tenant=row.tenant,
                name=row.name,
                prefix=row.prefix,
                created_at=row.created_at,
                revoked_at=row.revoked_at,
                scopes=scopes_of(row.scopes),
            )
            for row in connection.execute(query)
        ]


def revoke_keys(journal: Journal, key: str) -> int:
    """Revoke the live keys whose id, prefix or name is ``key``; returns how many."""
    with write(journal.engine) as connection:
        result = connection.execute(
            update(ApiKey)
            .where(
                (ApiKey.id == key) | (ApiKey.prefix == key) | (ApiKey.name == key),
                ApiKey.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
        )
    return int(result.rowcount)


def live_key(journal: Journal, key_hash: str) -> LiveKey | None:
    """The live (not revoked) key with this digest, if any."""
    query = select(ApiKey.id, ApiKey.tenant, ApiKey.name, ApiKey.scopes).where(
        ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None)
    )
    with journal.engine.connect() as connection:
        row = connection.execute(query).first()
    return None if row is None else LiveKey(row.id, row.tenant, row.name, scopes_of(row.scopes))


def insert_session(
    journal: Journal, token_hash: str, key_id: str, csrf: str, expires_at: datetime
) -> None:
    """Store a console session (the digest of its cookie, never the cookie); expired sessions
    are dropped in the same transaction, so the table holds only live ones."""
    now = utcnow()
    with write(journal.engine) as connection:
        connection.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
        connection.execute(
            insert(ConsoleSession).values(
                token_hash=token_hash,
                key_id=key_id,
                csrf=csrf,
                created_at=now,
                expires_at=expires_at,
            )
        )


def session_key(journal: Journal, token_hash: str) -> tuple[LiveKey, str] | None:
    """The live key behind an unexpired session, and the session's CSRF token."""
    query = (
        select(ApiKey.id, ApiKey.tenant, ApiKey.name, ApiKey.scopes, ConsoleSession.csrf)
        .join(ApiKey, ApiKey.id == ConsoleSession.key_id)
        .where(
            ConsoleSession.token_hash == token_hash,
            ConsoleSession.expires_at > utcnow(),
            ApiKey.revoked_at.is_(None),
        )
    )
    with journal.engine.connect() as connection:
        row = connection.execute(query).first()
    if row is None:
        return None
    return LiveKey(row.id, row.tenant, row.name, scopes_of(row.scopes)), row.csrf


def delete_session(journal: Journal, token_hash: str) -> None:
    """End a session (signing out)."""
    with write(journal.engine) as connection:
        connection.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == token_hash))
