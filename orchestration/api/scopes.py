"""What an API key may do: its scopes, and the operator's tenant ``*``.

Four scopes: ``read`` (runs, steps, events, approvals), ``submit`` (start and cancel runs),
``approve`` (decide approvals) and ``admin``, which implies the other three. A key of the
operator's tenant ``*`` with ``admin`` sees every tenant's runs and approvals. A key stored before
keys had scopes has none recorded and keeps every right.
"""

from __future__ import annotations

from collections.abc import Iterable

from orchestration.errors import ConfigError

__all__ = ["ADMIN", "OPERATOR_TENANT", "SCOPES", "parse_scopes", "scopes_of", "stored"]

SCOPES = ("read", "submit", "approve", "admin")
"""Every scope, in the order listings show them."""

ADMIN = "admin"
"""The scope that implies every other."""

OPERATOR_TENANT = "*"
"""The tenant of an operator's key: with ``admin``, every tenant's runs and approvals."""


def parse_scopes(given: str | Iterable[str]) -> tuple[str, ...]:
    """Scopes from ``--scope read,approve`` (or a list of names), in :data:`SCOPES` order.

    Raises:
        ConfigError: a name is not a scope, or none is given; naming the valid ones.
    """
    names = given.split(",") if isinstance(given, str) else list(given)
    wanted = {name.strip().lower() for name in names if name.strip()}
    unknown = sorted(wanted - set(SCOPES))
    valid = ", ".join(SCOPES)
    if unknown:
        listed = ", ".join(repr(name) for name in unknown)
        raise ConfigError(
            f"--scope {listed} is not a scope. Fix: use one or more of {valid}, comma-separated."
        )
    if not wanted:
        raise ConfigError(f"--scope names no scope. Fix: use one or more of {valid}.")
    return tuple(scope for scope in SCOPES if scope in wanted)


def stored(scopes: Iterable[str]) -> str:
    """The ``api_keys.scopes`` text of a key's scopes: ``read,approve``."""
    return ",".join(scopes)


def scopes_of(column: str | None) -> tuple[str, ...]:
    """A key's scopes from its ``api_keys.scopes`` text; a key stored before scopes has all.

    A name this version does not know (written by a newer one) is kept: it grants nothing here.
    """
    if column is None:
        return SCOPES
    names = [name for name in column.split(",") if name]
    return tuple(sorted(names, key=lambda n: SCOPES.index(n) if n in SCOPES else len(SCOPES)))
