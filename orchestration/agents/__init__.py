"""Agent definitions: agents as code and their typed tools (``chordline.lock``, which pins them
with their eval datasets, is :mod:`orchestration.evals.lock`)."""

from orchestration.agents._problems import BrokenAgent
from orchestration.agents.definition import Agent
from orchestration.agents.registry import AgentRegistry, load_registry
from orchestration.agents.tools import Tool, ToolContext, tool

__all__ = ["Agent", "AgentRegistry", "BrokenAgent", "Tool", "ToolContext", "load_registry", "tool"]
