"""What a run of a session loads from each memory tier, recorded on the run.

:func:`load_context` reads the three tiers once, at the run's first LLM turn; the result is
written to ``runs.memory`` (only if nothing is recorded yet, so two workers racing on the first
turn record one context) and every later turn of the run reads the recorded one. A run's
context therefore never changes under it, a replay sends the same request, and ``chordline
status`` shows exactly what the agent was told.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from orchestration.journal.records import RunRecord
from orchestration.memory import store
from orchestration.memory._episodic import fit_episodes

if TYPE_CHECKING:
    # Annotations only: `chordline status` reads a recorded context without loading Redis.
    from orchestration.config import MemorySettings
    from orchestration.journal import Journal
    from orchestration.memory._facts import FactStore
    from orchestration.memory.working import WorkingMemory

__all__ = ["MemoryContext", "load_context", "read_recorded", "record_once"]


@dataclass(frozen=True)
class MemoryContext:
    """A run's memory: what each tier gave, and the text added to the system prompt.

    Attributes:
        record: JSON-ready: ``working`` (turns), ``episodic`` (runs given in full, summarised,
            dropped), ``long_term`` (facts), ``loaded_at`` and ``text``.
    """

    record: dict[str, Any]

    @property
    def text(self) -> str:
        """What the model is told (empty: nothing was remembered)."""
        return str(self.record.get("text") or "")


def load_context(
    settings: MemorySettings,
    journal: Journal,
    working: WorkingMemory,
    facts: FactStore,
    run: RunRecord,
    *,
    now: datetime,
    count_tokens: Callable[[str], int],
) -> MemoryContext:
    """Read the session's memory for ``run`` from every tier.

    Args:
        settings: turns, TTL, token budget and retention.
        journal: the journal (episodic memory).
        working: working memory.
        facts: the long-term store.
        run: the run (it has a session).
        now: the clock's time.
        count_tokens: the model's token counter (episodic memory's budget).
    """
    session = run.session or ""
    turns = [t for t in working.recent(run.tenant, session, now) if t.run_id != run.id]
    since = now - timedelta(days=settings.memory_retention_days)
    earlier = store.episodes(
        journal,
        run.tenant,
        session,
        since=since,
        before=run.created_at,
        exclude=[run.id, *(t.run_id for t in turns)],
    )
    fitted = fit_episodes(earlier, settings.memory_episodic_tokens, count_tokens)
    recalled = facts.recall(run.tenant, session, run.input, settings.memory_recall_facts)
    sections: list[str] = []
    if turns:
        lines = [f"user: {t.input}\nyou: {t.answer}" for t in turns]
        sections.append("Recent turns of this conversation (working memory):\n" + "\n".join(lines))
    if not fitted.empty:
        sections.append("Earlier conversations (episodic memory):\n" + fitted.text())
    if recalled:
        lines = [f"- {f.fact}" for f in recalled]
        sections.append("Facts you chose to remember (long-term memory):\n" + "\n".join(lines))
    text = ""
    if sections:
        text = f"Memory of session {session}:\n\n" + "\n\n".join(sections)
    return MemoryContext(
        {
            "session": session,
            "loaded_at": now.isoformat(),
            "working": [{"run_id": t.run_id, "input": t.input, "answer": t.answer} for t in turns],
            "episodic": {
                "full": [e.run_id for e in fitted.full],
                "summarised": [e.run_id for e in fitted.summarised],
                "dropped": fitted.dropped,
            },
            "long_term": [{"id": f.id, "fact": f.fact} for f in recalled],
            "text": text,
        }
    )


def read_recorded(journal: Journal, run_id: str) -> MemoryContext | None:
    """The memory recorded on the run, if any."""
    found = store.recorded_memory(journal, run_id)
    return None if found is None else MemoryContext(found)


def record_once(journal: Journal, run_id: str, context: MemoryContext) -> MemoryContext:
    """Record ``context`` on the run unless one is recorded; returns the one that is."""
    store.record_memory_once(journal, run_id, context.record)
    return read_recorded(journal, run_id) or context
