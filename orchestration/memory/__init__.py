"""Sessions and tiered memory: working (Redis), episodic (the journal), long-term (a fact store).

A run submitted with a ``session`` is given, at its first turn, the session's recent turns,
its earlier runs (summarised past a token budget) and the facts recalled for its input; what
was loaded is recorded on the run. Agents keep facts with the :data:`remember` tool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestration._lazy import lazy_exports

# Eager because the module has the function's name: once anything imported the submodule
# `orchestration.memory._remember`, a lazy lookup would find the module, not the tool.
from orchestration.memory._remember import remember

if TYPE_CHECKING:
    from orchestration.memory._episodic import Episode, EpisodicContext, fit_episodes
    from orchestration.memory._facts import Fact, FactStore
    from orchestration.memory._middleware import MemoryMiddleware
    from orchestration.memory.context import MemoryContext, load_context
    from orchestration.memory.sessions import Deleted, SessionExport, delete_session, export_session
    from orchestration.memory.store import JournalFactStore, episodes
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

# Which module holds each public name: a part of the package (`chordline status` reading a
# run's recorded context) loads neither Redis nor the memory middleware's model stack.
_HOME = {
    **dict.fromkeys(("MemoryContext", "load_context"), "orchestration.memory.context"),
    **dict.fromkeys(
        ("Episode", "EpisodicContext", "fit_episodes"), "orchestration.memory._episodic"
    ),
    **dict.fromkeys(("Fact", "FactStore"), "orchestration.memory._facts"),
    **dict.fromkeys(("JournalFactStore", "episodes"), "orchestration.memory.store"),
    "MemoryMiddleware": "orchestration.memory._middleware",
    **dict.fromkeys(
        ("Deleted", "SessionExport", "delete_session", "export_session"),
        "orchestration.memory.sessions",
    ),
    **dict.fromkeys(
        ("NullWorkingMemory", "RedisWorkingMemory", "Turn", "WorkingMemory", "open_working_memory"),
        "orchestration.memory.working",
    ),
}


__getattr__, __dir__ = lazy_exports(__name__, _HOME, globals(), __all__)
