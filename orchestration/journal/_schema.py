"""The journal's schema: migrating it, checking it is current, and checking the database answers.

Checking runs on every start of every process (each CLI command included), so it reads the
stored revision with one query and compares it with :data:`HEAD_REVISION`; Alembic (and its
templating) is imported only to migrate. A test keeps :data:`HEAD_REVISION` equal to the
migrations' head.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import OperationalError

from orchestration.errors import BackendUnreachable, JournalError
from orchestration.journal.engine import shown_url, write

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "HEAD_REVISION",
    "current_revision",
    "ensure_schema",
    "migrations_head",
    "ping",
    "upgrade",
]

# The newest migration in migrations/versions: a new migration changes this too.
HEAD_REVISION = "webhooks"

# Alembic's own table of the applied revision (its default name; env.py keeps it).
_VERSION_TABLE = "alembic_version"

# Several workers may start at once; one migrates while the others wait on this lock.
_MIGRATION_LOCK = 7710421


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return config


def migrations_head() -> str | None:
    """The head revision of the migration scripts, as Alembic reads them."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the latest migration (idempotent)."""
    from alembic import command

    config = _config()
    with write(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})"))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def current_revision(engine: Engine) -> str | None:
    """The revision the database's schema is at; None before the first migration."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(_VERSION_TABLE):
            return None
        stored = connection.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalars()
        revisions = list(stored)
    # One row per head; the journal's history is linear, so more than one is never current.
    return revisions[0] if len(revisions) == 1 else None


def ensure_schema(engine: Engine, url: str, *, migrate: bool) -> None:
    """Check the schema is at the latest migration, upgrading it when ``migrate``.

    Raises:
        JournalError: the schema is behind and ``migrate`` is False.
    """
    current = current_revision(engine)
    if current == HEAD_REVISION:
        return
    if migrate:
        upgrade(engine)
        return
    raise JournalError(
        f"journal {shown_url(url)} is at schema revision {current or 'none'}, this code needs "
        f"{HEAD_REVISION}. Fix: run `chordline db upgrade` once (a one-off admin process)."
    )


def ping(engine: Engine, url: str) -> None:
    """Check the database answers.

    Raises:
        BackendUnreachable: naming the URL (password masked) and the fix.
    """
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise BackendUnreachable(
            f"journal database {shown_url(url)} is unreachable: {reason}. Fix: start the "
            "database or point CHORDLINE_DATABASE_URL at one that runs."
        ) from None
