"""The ``remember`` tool: an agent includes it to keep a fact for the session's later runs.

``tools=[..., remember]`` in an agent's definition. The fact is stored in the long-term store
under the step's idempotency key, so a retried or re-driven step stores it once; a run with no
session keeps nothing and says so to the model.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from orchestration.agents.tools import ToolContext, tool
from orchestration.journal import open_journal
from orchestration.journal.tables import utcnow
from orchestration.memory._facts import Fact
from orchestration.memory.store import JournalFactStore

__all__ = ["Remember", "remember"]


class Remember(BaseModel):
    """The fact to keep."""

    text: str = Field(..., min_length=1, max_length=2000, description="the fact, one sentence")


@tool(read_only=False, timeout_s=10)
def remember(args: Remember, ctx: ToolContext) -> dict[str, object]:
    """Remember a fact about the user or the task for later conversations in this session."""
    journal = open_journal(ctx.database_url)
    run = journal.get_run(ctx.run_id)
    if run.session is None:
        return {"remembered": False, "reason": "this run belongs to no session; nothing is kept"}
    store = JournalFactStore(journal)
    fact = Fact(ctx.idempotency_key, run.tenant, run.session, args.text, run.id, utcnow())
    return {"remembered": True, "fact": args.text, "new": store.add(fact)}
