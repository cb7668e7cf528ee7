"""`chordline memory export|delete --session S`: a session's memory, out of every tier."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from orchestration.cli.base import console, main, open_client
from orchestration.journal.tables import utcnow
from orchestration.memory import JournalFactStore, delete_session, export_session
from orchestration.memory.working import WorkingMemory, open_working_memory

if TYPE_CHECKING:
    from orchestration.journal import Journal

__all__ = ["delete", "export", "memory"]


def _tiers(tenant: str | None) -> tuple[Journal, WorkingMemory, JournalFactStore, str]:
    """The journal, working memory, the fact store and the tenant (the default when None)."""
    client = open_client()
    journal = client.runtime.journal
    settings = client.settings
    working = open_working_memory(settings.memory, settings.redis_url)
    return journal, working, JournalFactStore(journal), tenant or settings.default_tenant


@main.group()
def memory() -> None:
    """A session's memory: working (Redis), episodic (the journal), long-term (facts)."""


@memory.command()
@click.option("--session", required=True, help="the session")
@click.option("--tenant", default=None, help="whose session (default: CHORDLINE_DEFAULT_TENANT)")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def export(session: str, tenant: str | None, output: Path | None) -> None:
    """Print (or write to --output) everything the memory holds of a session, as JSON."""
    journal, working, facts, owner = _tiers(tenant)
    found = export_session(journal, working, facts, tenant=owner, session=session, now=utcnow())
    if output is None:
        click.echo(found.to_json())
    else:
        output.write_text(found.to_json(), encoding="utf-8")
        console.print(f"session exported to {output}")


@memory.command()
@click.option("--session", required=True, help="the session")
@click.option("--tenant", default=None, help="whose session (default: CHORDLINE_DEFAULT_TENANT)")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def delete(session: str, tenant: str | None, yes: bool) -> None:
    """Delete a session from every memory tier (the runs stay, emptied, for the audit)."""
    if not yes:
        click.confirm(f"delete every memory of session {session!r}?", abort=True)
    journal, working, facts, owner = _tiers(tenant)
    gone = delete_session(journal, working, facts, tenant=owner, session=session)
    console.print(
        f"session {session} deleted: {gone.working_turns} working-memory turn(s), "
        f"{gone.runs_scrubbed} run(s) emptied, {gone.facts} fact(s)"
    )
