"""Chordline's runtime: config, journal, agents and tools, the loop, providers, client, CLI.

Every public name is imported on first use, so whatever imports a part of the package (the CLI
for ``--help``, an agent's ``tools.py`` that does ``from orchestration import tool``, which loads
no broker code) pays only for what it touches, never for the whole runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestration._lazy import lazy_exports

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
    from orchestration.agents import Agent, Tool, ToolContext, tool
    from orchestration.client import Client, RunView, WaitTimeout
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

# Which module holds each public name.
_HOME = {
    **dict.fromkeys(("Agent", "Tool", "ToolContext", "tool"), "orchestration.agents"),
    **dict.fromkeys(("Client", "RunView", "WaitTimeout"), "orchestration.client"),
    **dict.fromkeys(("Settings", "load_settings"), "orchestration.config"),
    **dict.fromkeys(
        (
            "AgentError",
            "AgentNotFound",
            "ApprovalError",
            "BackendUnreachable",
            "BudgetError",
            "ChordlineError",
            "ConfigError",
            "JournalError",
            "ProviderError",
            "RunNotFound",
            "ToolError",
        ),
        "orchestration.errors",
    ),
    **dict.fromkeys(("RunStatus", "StepKind", "StepStatus"), "orchestration.journal.tables"),
    "Limits": "orchestration.runtime",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOME, globals(), __all__)
