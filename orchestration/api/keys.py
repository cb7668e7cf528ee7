"""API keys: one per caller, belonging to a tenant, stored as a SHA-256 digest only.

A key is ``chl_<prefix>_<secret>``: the prefix (stored, shown in listings) tells keys apart, the
secret never leaves :func:`create_key`'s return value. Verifying hashes the presented key and
looks the digest up, so the database never holds anything that opens the API.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update

from orchestration.errors import ConfigError
from orchestration.journal import Journal
from orchestration.journal.subsystem_tables import ApiKey
from orchestration.journal.tables import utcnow

__all__ = ["KeyRecord", "NewKey", "Principal", "create_key", "list_keys", "revoke_key", "verify"]

_NAME = re.compile(r"^[\w.@:-]{1,64}$")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's tenant and its name (recorded on the decisions it makes)."""

    tenant: str
    key_name: str
    key_id: str


@dataclass(frozen=True)
class KeyRecord:
    """A key as listed: never the key itself."""

    id: str
    tenant: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class NewKey:
    """A key just created: ``secret`` is shown once and stored nowhere."""

    record: KeyRecord
    secret: str


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", errors="surrogatepass")).hexdigest()


def _checked(label: str, value: str) -> str:
    if not _NAME.match(value):
        raise ConfigError(
            f"{label} {value!r} is invalid. Fix: use 1-64 letters, digits or . _ - @ :"
        )
    return value


def create_key(journal: Journal, *, tenant: str, name: str) -> NewKey:
    """Create a key for ``tenant`` labelled ``name``.

    Raises:
        ConfigError: the tenant or name is not 1-64 plain characters.
    """
    prefix = secrets.token_hex(4)
    secret = f"chl_{prefix}_{secrets.token_urlsafe(32)}"
    record = KeyRecord(
        id=str(uuid.uuid4()),
        tenant=_checked("--tenant", tenant),
        name=_checked("--name", name),
        prefix=prefix,
        created_at=utcnow(),
        revoked_at=None,
    )
    with journal.engine.execution_options(chordline_writes=True).begin() as connection:
        connection.execute(
            insert(ApiKey).values(
                id=record.id,
                tenant=record.tenant,
                name=record.name,
                key_hash=_digest(secret),
                prefix=prefix,
                created_at=record.created_at,
            )
        )
    return NewKey(record, secret)


def list_keys(journal: Journal, tenant: str | None = None) -> list[KeyRecord]:
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
            )
            for row in connection.execute(query)
        ]


def revoke_key(journal: Journal, key: str) -> int:
    """Revoke keys by id, prefix or name; returns how many were revoked just now."""
    with journal.engine.execution_options(chordline_writes=True).begin() as connection:
        result = connection.execute(
            update(ApiKey)
            .where(
                (ApiKey.id == key) | (ApiKey.prefix == key) | (ApiKey.name == key),
                ApiKey.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
        )
    return int(result.rowcount)


def verify(journal: Journal, presented: str) -> Principal | None:
    """The principal of a live key, or None for a key that is unknown or revoked."""
    if not presented.startswith("chl_") or len(presented) > 200:
        return None
    query = select(ApiKey.id, ApiKey.tenant, ApiKey.name).where(
        ApiKey.key_hash == _digest(presented), ApiKey.revoked_at.is_(None)
    )
    with journal.engine.connect() as connection:
        row = connection.execute(query).first()
    return None if row is None else Principal(tenant=row.tenant, key_name=row.name, key_id=row.id)
