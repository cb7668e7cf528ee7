"""API keys: one per caller, belonging to a tenant, stored as a SHA-256 digest only.

A key is ``chl_<prefix>_<secret>``: the prefix (stored, shown in listings) tells keys apart, the
secret never leaves :func:`create_key`'s return value. Verifying hashes the presented key and
looks the digest up, so the database never holds anything that opens the API.

Each key has scopes (:mod:`orchestration.api.scopes`): what its :class:`Principal` may do.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from orchestration.api import store
from orchestration.api.scopes import ADMIN, OPERATOR_TENANT, SCOPES, parse_scopes
from orchestration.api.store import KeyRecord
from orchestration.errors import ConfigError
from orchestration.journal import Journal
from orchestration.journal.tables import utcnow

__all__ = [
    "SESSION_HOURS",
    "KeyRecord",
    "NewKey",
    "Principal",
    "close_session",
    "create_key",
    "list_keys",
    "open_session",
    "revoke_key",
    "session_principal",
    "verify",
]

SESSION_HOURS = 12
"""How long a console sign-in lasts."""

_NAME = re.compile(r"^[\w.@:-]{1,64}$")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's tenant, its name (recorded on the decisions it makes) and what
    it may do.

    Attributes:
        tenant: the key's tenant; ``*`` for an operator's key.
        key_name: the key's name, recorded as who decided an approval or gave feedback.
        key_id: the key's id.
        scopes: the key's scopes (``admin`` implies the others).
    """

    tenant: str
    key_name: str
    key_id: str
    scopes: frozenset[str] = frozenset(SCOPES)

    def allows(self, scope: str) -> bool:
        """True when the key has ``scope``, or ``admin``, which implies every scope."""
        return scope in self.scopes or ADMIN in self.scopes

    @property
    def operator(self) -> bool:
        """An operator's key: tenant ``*`` with ``admin``; it sees every tenant's runs."""
        return self.tenant == OPERATOR_TENANT and ADMIN in self.scopes

    @property
    def tenant_filter(self) -> str | None:
        """The tenant to narrow every read and decision to: None (every tenant) for an operator."""
        return None if self.operator else self.tenant


@dataclass(frozen=True)
class NewKey:
    """A key just created: ``secret`` is shown once and stored nowhere."""

    record: KeyRecord
    secret: str


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", errors="surrogatepass")).hexdigest()


def _checked(label: str, value: str) -> str:
    if not _NAME.match(value):
        extra = " (or --tenant '*' for an operator's key)" if label == "--tenant" else ""
        raise ConfigError(
            f"{label} {value!r} is invalid. Fix: use 1-64 letters, digits or . _ - @ :{extra}"
        )
    return value


def create_key(
    journal: Journal, *, tenant: str, name: str, scopes: Iterable[str] | None = None
) -> NewKey:
    """Create a key for ``tenant`` labelled ``name``.

    Args:
        journal: the journal the keys are stored in.
        tenant: the tenant whose runs the key starts and sees; ``*`` for an operator's key,
            which sees every tenant's (it needs the ``admin`` scope).
        name: a label, recorded as who decided an approval or gave feedback.
        scopes: what the key may do (:data:`~orchestration.api.scopes.SCOPES`); every scope
            when None.

    Raises:
        ConfigError: the tenant or name is not 1-64 plain characters, a scope is unknown, or an
            operator's key lacks ``admin``.
    """
    granted = SCOPES if scopes is None else parse_scopes(scopes)
    if tenant == OPERATOR_TENANT and ADMIN not in granted:
        raise ConfigError(
            "--tenant '*' (an operator's key, over every tenant) needs the admin scope. Fix: "
            "add admin to --scope, or name the one tenant the key serves."
        )
    prefix = secrets.token_hex(4)
    secret = f"chl_{prefix}_{secrets.token_urlsafe(32)}"
    record = KeyRecord(
        id=str(uuid.uuid4()),
        tenant=tenant if tenant == OPERATOR_TENANT else _checked("--tenant", tenant),
        name=_checked("--name", name),
        prefix=prefix,
        created_at=utcnow(),
        revoked_at=None,
        scopes=granted,
    )
    store.insert_key(journal, record, _digest(secret))
    return NewKey(record, secret)


def list_keys(journal: Journal, tenant: str | None = None) -> list[KeyRecord]:
    """Every key (or one tenant's), oldest first, revoked ones included."""
    return store.select_keys(journal, tenant)


def revoke_key(journal: Journal, key: str) -> int:
    """Revoke keys by id, prefix or name; returns how many were revoked just now."""
    return store.revoke_keys(journal, key)


def verify(journal: Journal, presented: str) -> Principal | None:
    """The principal of a live key, or None for a key that is unknown or revoked."""
    if not presented.startswith("chl_") or len(presented) > 200:
        return None
    found = store.live_key(journal, _digest(presented))
    if found is None:
        return None
    return Principal(
        found.tenant, key_name=found.name, key_id=found.id, scopes=frozenset(found.scopes)
    )


def open_session(journal: Journal, principal: Principal) -> tuple[str, str]:
    """Sign ``principal`` in to the console: (the session's cookie value, its CSRF token).

    Only the cookie's digest is stored; the session ends after :data:`SESSION_HOURS`, at
    sign-out, or when its key is revoked.
    """
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    expires = utcnow() + timedelta(hours=SESSION_HOURS)
    store.insert_session(journal, _digest(token), principal.key_id, csrf, expires)
    return token, csrf


def session_principal(journal: Journal, token: str) -> tuple[Principal, str] | None:
    """The principal and CSRF token of a live session, or None (unknown, expired, revoked)."""
    if not token or len(token) > 200:
        return None
    found = store.session_key(journal, _digest(token))
    if found is None:
        return None
    key, csrf = found
    return Principal(key.tenant, key.name, key.id, frozenset(key.scopes)), csrf


def close_session(journal: Journal, token: str) -> None:
    """Sign out: the session's cookie opens nothing any more."""
    store.delete_session(journal, _digest(token))
