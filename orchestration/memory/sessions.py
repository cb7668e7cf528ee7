"""A session's memory as a whole: export it, or delete it from every tier.

Deletion is complete: the working-memory key goes from Redis, the facts go from the long-term
store, and in the journal every run of the session (and every child run of its workflow runs)
keeps its ids, statuses, timings and costs for the audit trail but loses its content: input,
answer, errors, the memory it loaded, and its steps' arguments, results and errors. The runs
are detached from the session, so nothing of it can be recalled again.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from orchestration.errors import MemoryStoreError
from orchestration.memory import store
from orchestration.memory._facts import FactStore
from orchestration.memory.working import WorkingMemory

if TYPE_CHECKING:
    from orchestration.journal import Journal

__all__ = [
    "DELETED",
    "Deleted",
    "SessionExport",
    "check_session",
    "delete_session",
    "export_session",
]

DELETED = "[deleted]"
_MAX_SESSION = 128


def check_session(session: str | None) -> str | None:
    """A session name as given, once it fits the journal.

    Raises:
        MemoryStoreError: it is empty or longer than 128 characters, naming the fix.
    """
    if session is not None and not 0 < len(session) <= _MAX_SESSION:
        raise MemoryStoreError(
            f"session {session[:40]!r} is {len(session)} characters long. Fix: pass --session "
            f"(session=) with 1 to {_MAX_SESSION} characters, e.g. a user or conversation id."
        )
    return session


@dataclass(frozen=True)
class SessionExport:
    """Everything the memory holds of one session.

    Attributes:
        tenant: whose session.
        session: the session.
        working: working memory's turns (Redis).
        runs: the session's runs with input, answer, status, time and what memory each loaded.
        facts: long-term facts.
    """

    tenant: str
    session: str
    working: tuple[dict[str, Any], ...]
    runs: tuple[dict[str, Any], ...]
    facts: tuple[dict[str, Any], ...]

    def to_json(self) -> str:
        """The export as indented JSON."""
        return json.dumps(asdict(self), indent=2, default=str)


@dataclass(frozen=True)
class Deleted:
    """What a deletion removed, per tier."""

    working_turns: int
    runs_scrubbed: int
    facts: int


def export_session(
    journal: Journal,
    working: WorkingMemory,
    facts: FactStore,
    *,
    tenant: str,
    session: str,
    now: datetime,
) -> SessionExport:
    """Everything the memory tiers hold of the session."""
    runs = store.session_runs(journal, tenant, session)
    return SessionExport(
        tenant=tenant,
        session=session,
        working=tuple(asdict(t) for t in working.recent(tenant, session, now)),
        runs=runs,
        facts=tuple(
            {"id": f.id, "fact": f.fact, "run_id": f.run_id, "created_at": f.created_at.isoformat()}
            for f in facts.facts(tenant, session)
        ),
    )


def delete_session(
    journal: Journal, working: WorkingMemory, facts: FactStore, *, tenant: str, session: str
) -> Deleted:
    """Remove the session from every tier (see the module docstring for what the journal
    keeps)."""
    turns = working.delete(tenant, session)
    removed_facts = facts.delete(tenant, session)
    ids = store.session_run_ids(journal, tenant, session)
    if ids:
        store.scrub_runs(journal, ids, marker=DELETED)
    return Deleted(working_turns=turns, runs_scrubbed=len(ids), facts=removed_facts)
