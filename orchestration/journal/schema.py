"""The journal's schema: migrating it, checking it is current, and checking the database answers."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from orchestration.errors import BackendUnreachable, JournalError
from orchestration.journal.engine import shown_url, write

__all__ = ["ensure_schema", "ping", "upgrade"]

# Several workers may start at once; one migrates while the others wait on this lock.
_MIGRATION_LOCK = 7710421


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the latest migration (idempotent)."""
    config = _config()
    with write(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})"))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def current_revision(engine: Engine) -> tuple[str | None, str | None]:
    """The schema's revision and the latest one this code has."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision(), head


def ensure_schema(engine: Engine, url: str, *, migrate: bool) -> None:
    """Check the schema is at the latest migration, upgrading it when ``migrate``.

    Raises:
        JournalError: the schema is behind and ``migrate`` is False.
    """
    current, head = current_revision(engine)
    if current == head:
        return
    if migrate:
        upgrade(engine)
        return
    raise JournalError(
        f"journal {shown_url(url)} is at schema revision {current or 'none'}, this code needs "
        f"{head}. Fix: run `chordline db upgrade` once (a one-off admin process)."
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
