"""Sessions and tiered memory: working (Redis), episodic (the journal), long-term (a fact store).

A run submitted with a ``session`` is given, at its first turn, the session's recent turns,
its earlier runs (summarised past a token budget) and the facts recalled for its input; what
was loaded is recorded on the run. Agents keep facts with the :data:`remember` tool.
"""

from orchestration.memory.context import MemoryContext, load_context
from orchestration.memory.episodic import Episode, EpisodicContext, episodes, fit_episodes
from orchestration.memory.facts import Fact, FactStore, JournalFactStore
from orchestration.memory.middleware import MemoryMiddleware
from orchestration.memory.remember import remember
from orchestration.memory.sessions import Deleted, SessionExport, delete_session, export_session
from orchestration.memory.working import (
    NullWorkingMemory,
    RedisWorkingMemory,
    Turn,
    WorkingMemory,
    open_working_memory,
)

__all__ = [
    "Deleted",
    "Episode",
    "EpisodicContext",
    "Fact",
    "FactStore",
    "JournalFactStore",
    "MemoryContext",
    "MemoryMiddleware",
    "NullWorkingMemory",
    "RedisWorkingMemory",
    "SessionExport",
    "Turn",
    "WorkingMemory",
    "delete_session",
    "episodes",
    "export_session",
    "fit_episodes",
    "load_context",
    "open_working_memory",
    "remember",
]
