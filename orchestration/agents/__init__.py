"""Agent definitions: agents as code, their typed tools, and the lock file that pins them."""

from orchestration.agents.definition import Agent
from orchestration.agents.problems import BrokenAgent
from orchestration.agents.registry import AgentRegistry, load_registry
from orchestration.agents.tools import Tool, ToolContext, tool

__all__ = ["Agent", "AgentRegistry", "BrokenAgent", "Tool", "ToolContext", "load_registry", "tool"]
