"""An agent version as data: what a worker needs to rebuild a run's requests without its code.

A run is pinned to the version it started with. :func:`snapshot` turns a loaded definition into a
:class:`StoredVersion` (prompt template, model pin, fallbacks and each tool's schema and hash),
which the journal keeps by content hash; :func:`rebuild` turns it back into an :class:`Agent`
whose prompt and tool schemas are the stored ones. A tool whose schema hash the worker's own code
no longer has becomes a :class:`PinnedTool`: the model still sees its stored schema, but no
worker runs it on other code.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel

from orchestration.agents.definition import Agent, tool_hash
from orchestration.agents.tools import Tool, ToolContext
from orchestration.errors import AgentError, ToolError

__all__ = ["PinnedTool", "StoredTool", "StoredVersion", "rebuild", "snapshot"]


@dataclass(frozen=True)
class StoredTool:
    """One tool of a stored version.

    Attributes:
        name: the tool's name.
        description: what the model reads.
        parameters: its JSON schema.
        read_only: it changes nothing.
        requires_approval: each call needs a person's approval.
        timeout_s: its timeout.
        hash: the content hash of its schema and flags (:func:`tool_hash`).
    """

    name: str
    description: str
    parameters: dict[str, Any]
    read_only: bool
    requires_approval: bool
    timeout_s: float
    hash: str

    def to_json(self) -> dict[str, Any]:
        """The tool as plain JSON, for the ``agent_versions`` row."""
        return {
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
            "read_only": self.read_only,
            "requires_approval": self.requires_approval,
            "timeout_s": self.timeout_s,
            "hash": self.hash,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoredTool:
        """Read a tool back from its row (one written before the scripted model's hints left
        the tools also holds their ``keywords``, which nothing reads)."""
        return cls(
            name=str(data["name"]),
            description=str(data["description"]),
            parameters=dict(data["parameters"]),
            read_only=bool(data["read_only"]),
            requires_approval=bool(data["requires_approval"]),
            # As stored: 30 and 30.0 hash differently, and the hash must come back the same.
            timeout_s=data["timeout_s"],
            hash=str(data["hash"]),
        )


@dataclass(frozen=True)
class StoredVersion:
    """Everything a version's requests are built from, kept by the version's content hash.

    Attributes:
        version: the content hash (``Agent.version``).
        agent: the agent's name.
        variant: the variant's name (``stable`` for the stable definition).
        prompt_template: the system prompt template.
        model: the model pin.
        fallbacks: the fallbacks in order.
        tools: the tools in order.
    """

    version: str
    agent: str
    variant: str
    prompt_template: str
    model: str
    fallbacks: tuple[str, ...]
    tools: tuple[StoredTool, ...]


def _empty(args: BaseModel, ctx: ToolContext) -> None:
    raise ToolError("this tool's code is not loaded on this worker")


class _NoArguments(BaseModel):
    """Arguments of a tool whose code this worker does not have (never validated here)."""


@dataclass(frozen=True)
class PinnedTool(Tool):
    """A tool of a pinned version whose code this worker does not have: its stored schema is
    what the model sees; calling it is left to a worker that has the code."""

    parameters: dict[str, Any] = field(default_factory=dict, compare=False)
    stored_hash: str = ""

    def schema(self) -> dict[str, Any]:
        """The stored schema."""
        return {"name": self.name, "description": self.description, "parameters": self.parameters}


def snapshot(agent: Agent) -> StoredVersion:
    """The stored form of a loaded definition."""
    tools = tuple(
        StoredTool(
            name=t.name,
            description=t.description,
            parameters=dict(t.schema()["parameters"]),
            read_only=t.read_only,
            requires_approval=t.requires_approval,
            timeout_s=t.timeout_s,
            hash=tool_hash(t),
        )
        for t in agent.tools
    )
    return StoredVersion(
        version=agent.version,
        agent=agent.name,
        variant=agent.variant_name,
        prompt_template=agent.prompt_template,
        model=agent.model,
        fallbacks=agent.fallbacks,
        tools=tools,
    )


def rebuild(stored: StoredVersion, loaded: Agent) -> Agent:
    """The agent at ``stored``'s version, built on ``loaded`` (the worker's definition of it).

    Each stored tool is the worker's own tool when one of the worker's definitions (stable or a
    variant) has a tool of that name and hash, else a :class:`PinnedTool`.

    Raises:
        AgentError: the rebuilt definition does not hash to the stored version (a stored row
            written by other code); the run then cannot be served faithfully.
    """
    own = {(t.name, tool_hash(t)): t for a in (loaded, *loaded.variants) for t in a.tools}
    tools = tuple(own.get((t.name, t.hash)) or _pinned(t) for t in stored.tools)
    agent = replace(
        loaded,
        variant=None if stored.variant == "stable" else stored.variant,
        variants=(),
        prompt_template=stored.prompt_template,
        model=stored.model,
        fallbacks=stored.fallbacks,
        tools=tools,
    )
    if agent.version != stored.version:
        raise AgentError(
            f"agent {stored.agent}: stored version {stored.version} rebuilds as {agent.version}. "
            "Fix: the agent_versions row was written by other code; redeploy that version."
        )
    return agent


def _pinned(stored: StoredTool) -> PinnedTool:
    return PinnedTool(
        name=stored.name,
        description=stored.description,
        args_model=_NoArguments,
        fn=_empty,
        read_only=stored.read_only,
        requires_approval=stored.requires_approval,
        timeout_s=stored.timeout_s,
        parameters=stored.parameters,
        stored_hash=stored.hash,
    )
