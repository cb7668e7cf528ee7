"""Memory as step middleware: a session's memory goes into each turn's request, and a session
run's answer goes into working memory when the run ends.

Only runs with a session are touched; for the others both hooks pass straight through, with no
query. The memory is added to the system prompt (after the agent's own), so the conversation
the loop built is unchanged and the budgets further in see the larger prompt.
"""

from __future__ import annotations

from dataclasses import replace

from orchestration.config import MemorySettings
from orchestration.journal import Journal
from orchestration.journal.tables import utcnow
from orchestration.llm.fallbacks import ChainOutcome
from orchestration.memory._facts import FactStore
from orchestration.memory.context import MemoryContext, load_context, read_recorded, record_once
from orchestration.memory.store import JournalFactStore
from orchestration.memory.working import (
    Clock,
    WorkingMemory,
    open_working_memory,
    record_run,
)
from orchestration.reducer.endings import ends_run
from orchestration.reducer.planning import Progress
from orchestration.runtime import Middleware, ModelCall, ModelNext, StepInput, StepNext

__all__ = ["MemoryMiddleware", "estimate_tokens"]


def estimate_tokens(text: str) -> int:
    """Tokens of ``text`` at four characters a token (the budget of episodic memory)."""
    return max(1, len(text) // 4)


class MemoryMiddleware(Middleware):
    """Loads, records and applies a session's memory; feeds working memory.

    Args:
        settings: the memory settings.
        journal: the journal (episodic memory, the recorded context).
        redis_url: the process's Redis, for working memory when the memory has none of its own.
        clock: what time it is (tests move it instead of sleeping).
        working: working memory (Redis from the settings by default).
        facts: the long-term store (the journal's by default).
    """

    def __init__(
        self,
        settings: MemorySettings,
        journal: Journal,
        redis_url: str | None,
        *,
        clock: Clock = utcnow,
        working: WorkingMemory | None = None,
        facts: FactStore | None = None,
    ) -> None:
        self.settings = settings
        self.journal = journal
        self.clock = clock
        self.working = working if working is not None else open_working_memory(settings, redis_url)
        self.facts = facts if facts is not None else JournalFactStore(journal)

    def context(self, item: StepInput) -> MemoryContext:
        """The run's memory: the recorded one, else loaded from the tiers now and recorded."""
        recorded = read_recorded(self.journal, item.run.id)
        if recorded is not None:
            return recorded
        loaded = load_context(
            self.settings,
            self.journal,
            self.working,
            self.facts,
            item.run,
            now=self.clock(),
            count_tokens=estimate_tokens,
        )
        return record_once(self.journal, item.run.id, loaded)

    def model_call(self, call: ModelCall, call_next: ModelNext) -> ChainOutcome:
        """Add the session's memory to the system prompt, then call."""
        if call.at.run.session is None:
            return call_next(call)
        text = self.context(call.at).text
        if not text:
            return call_next(call)
        request = replace(call.request, system=f"{call.request.system}\n\n{text}")
        return call_next(
            replace(call, request=request, prompt_tokens=call.prompt_tokens + estimate_tokens(text))
        )

    def step(self, item: StepInput, call_next: StepNext) -> Progress:
        """Run the step; when it ended a session run that succeeded, remember the turn."""
        progress = call_next(item)
        session = item.run.session
        if session is None or not ends_run(item, progress):
            return progress
        if item.run.parent_id is None:  # a workflow's children: the workflow is the turn
            record_run(self.working, self.journal.get_run(item.run.id), self.clock())
        return progress
