"""Chordline's runtime: config, journal, agents and tools, the loop, providers, client, CLI."""

from orchestration.agents import Agent
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
from orchestration.models import RunStatus, StepKind, StepStatus
from orchestration.runtime import Limits
from orchestration.tools import Tool, ToolContext, tool

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
