"""Chordline's runtime: config, journal, agents and tools, the loop, providers, client, CLI.

Every public name is imported on first use, so whatever imports a part of the package (the CLI
for ``--help``, an agent's ``tools.py`` that does ``from orchestration import tool``, which loads
no broker code) pays only for what it touches, never for the whole runtime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'orchestration' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
