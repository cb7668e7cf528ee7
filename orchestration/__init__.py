"""Chordline's runtime: config, journal, agents and tools, the loop, providers, client, CLI.

The client speaks Celery, so it is imported on first use: an agent's ``tools.py`` that does
``from orchestration import tool`` loads no broker code.
"""

from typing import TYPE_CHECKING, Any

from orchestration.agents import Agent, Tool, ToolContext, tool
from orchestration.config import Settings, load_settings
from orchestration.errors import (
    AgentError,
    AgentNotFound,
    ApprovalError,
    BackendUnreachable,
    BudgetError,
    ChordlineError,
    ConfigError,
    JournalError,
    ProviderError,
    RunNotFound,
    ToolError,
)
from orchestration.journal.tables import RunStatus, StepKind, StepStatus
from orchestration.runtime import Limits

__all__ = [
    "Agent",
    "AgentError",
    "AgentNotFound",
    "ApprovalError",
    "BackendUnreachable",
    "BudgetError",
    "ChordlineError",
    "Client",
    "ConfigError",
    "JournalError",
    "Limits",
    "ProviderError",
    "RunNotFound",
    "RunStatus",
    "RunView",
    "Settings",
    "StepKind",
    "StepStatus",
    "Tool",
    "ToolContext",
    "ToolError",
    "WaitTimeout",
    "load_settings",
    "tool",
]

if TYPE_CHECKING:
    from orchestration.client import Client, RunView, WaitTimeout

_LAZY = {"Client", "RunView", "WaitTimeout"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from orchestration import client

        return getattr(client, name)
    raise AttributeError(f"module 'orchestration' has no attribute {name!r}")
