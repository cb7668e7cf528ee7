"""Agents as code: ``agents/<dir>/agent.py`` defines ``agent = Agent.from_files(...)``.

An agent's version is a content hash of its prompt template, its tool schemas and its model pin,
so every run records exactly what it ran with. An agent may carry variants (another prompt, model
pin or tool set, each with a version of its own) that a canary rollout routes runs to.
"""

from __future__ import annotations

import functools
import hashlib
import json
import string
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from orchestration.agents.tools import Tool
from orchestration.errors import AgentError, AgentNotFound

__all__ = ["LOADING", "Agent", "describe_tool", "tool_hash"]


# The folder whose agent.py is being imported (set by the registry's loader), so
# `Agent.from_files` may omit `directory`.
LOADING: ContextVar[Path | None] = ContextVar("chordline_agent_loading", default=None)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def describe_tool(tool: Tool) -> dict[str, object]:
    """What a tool's version hash covers: its schema and the flags that change how it runs."""
    return {
        **tool.schema(),
        "read_only": tool.read_only,
        "requires_approval": tool.requires_approval,
        "timeout_s": tool.timeout_s,
    }


def tool_hash(tool: Tool) -> str:
    """Content hash of one tool's schema and flags: a worker serves a pinned call only when its
    own tool has the same one."""
    return _sha256(json.dumps(describe_tool(tool), sort_keys=True))


@dataclass(frozen=True)
class Agent:
    """One agent definition.

    Attributes:
        name: the name runs are submitted under.
        description: one line for listings.
        model: the pinned model, ``provider:model`` (e.g. ``scripted:planner-1``).
        prompt_template: the system prompt template (``$agent_name``, ``$tool_list``).
        tools: the tools the model may call.
        max_steps: default cap on steps per run.
        max_tokens: default cap on tokens per run (None: no cap).
        max_usd: default cap on dollars per run (None: no cap).
        fallbacks: deployments tried in order when the pin fails or its breaker is open
            (``provider:model``, ``scripted``, ``cache``).
        max_tool_errors: consecutive turns whose tool calls all failed before a run fails
            (None: ``CHORDLINE_MAX_TOOL_ERRORS``).
        variant: the variant's name, None for the stable definition.
        variants: the stable definition's variants (see :meth:`variant`), not part of its
            version.
    """

    name: str
    description: str
    model: str
    prompt_template: str
    tools: tuple[Tool, ...]
    max_steps: int = 50
    max_tokens: int | None = None
    max_usd: Decimal | None = None
    fallbacks: tuple[str, ...] = ()
    max_tool_errors: int | None = None
    variant: str | None = None
    variants: tuple[Agent, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if ":" not in self.model:
            raise AgentError(
                f"agent {self.name}: model {self.model!r} is not pinned as provider:model. "
                "Fix: e.g. model='scripted:planner-1'."
            )
        for fallback in self.fallbacks:
            if ":" not in fallback and fallback not in ("scripted", "cache"):
                raise AgentError(
                    f"agent {self.name}: fallback {fallback!r} is not provider:model, scripted "
                    "or cache. Fix: e.g. fallbacks=['openai:gpt-5-mini-2025-08-07', 'cache']."
                )
        for index, item in enumerate(self.tools):
            if not isinstance(item, Tool):
                shown = getattr(item, "__name__", repr(item))
                raise AgentError(
                    f"agent {self.name}: tools[{index}] ({shown}) is not a tool. Fix: decorate "
                    "the function with @tool(...) (from orchestration import tool)."
                )
        names = [t.name for t in self.tools]
        if len(set(names)) != len(names):
            raise AgentError(f"agent {self.name}: two tools share a name in {names}")
        if self.max_steps < 1:
            raise AgentError(f"agent {self.name}: max_steps must be >= 1")
        if self.max_tool_errors is not None and self.max_tool_errors < 1:
            raise AgentError(f"agent {self.name}: max_tool_errors must be >= 1 (or None)")
        variant_names = [v.variant for v in self.variants]
        if None in variant_names or len(set(variant_names)) != len(variant_names):
            raise AgentError(
                f"agent {self.name}: variants need distinct names, got {variant_names}. "
                "Fix: build each with agent.variant('name', ...)."
            )

    @classmethod
    def from_files(
        cls,
        *,
        name: str,
        model: str,
        tools: Sequence[Tool] | None = None,
        directory: Path | None = None,
        prompt_file: str = "prompt.md",
        description: str = "",
        max_steps: int = 50,
        max_tokens: int | None = None,
        max_usd: str | None = None,
        fallbacks: Sequence[str] = (),
        max_tool_errors: int | None = None,
    ) -> Agent:
        """Build an agent whose prompt template lives in a file beside its definition.

        Args:
            name: the name runs are submitted under.
            model: the pinned model, ``provider:model``.
            tools: the tools the model may call (``[]`` for none).
            directory: the folder of the prompt file; defaults to the folder whose ``agent.py``
                the registry is loading.
            prompt_file: the prompt template's file name in ``directory``.
            description: one line for listings.
            max_steps: default cap on steps per run.
            max_tokens: default cap on tokens per run.
            max_usd: default cap on dollars per run, as a decimal string.
            fallbacks: deployments tried after the pin.

        Raises:
            AgentError: ``tools`` is missing, or ``directory`` is missing outside the loader,
                or the prompt cannot be read.
        """
        if tools is None:
            raise AgentError(
                f"agent {name}: Agent.from_files needs the tools the model may call. Fix: pass "
                "tools=[tools.my_tool, ...] (or tools=[] for an agent without tools)."
            )
        directory = directory or LOADING.get()
        if directory is None:
            raise AgentError(
                f"agent {name}: Agent.from_files does not know where {prompt_file} is. Fix: "
                "pass directory=Path(__file__).parent."
            )
        path = directory / prompt_file
        try:
            template = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise AgentError(f"agent {name}: cannot read prompt {path}: {exc.strerror}") from None
        return cls(
            name=name,
            description=description,
            model=model,
            prompt_template=template,
            tools=tuple(tools),
            max_steps=max_steps,
            max_tokens=max_tokens,
            max_usd=Decimal(max_usd) if max_usd is not None else None,
            fallbacks=tuple(fallbacks),
            max_tool_errors=max_tool_errors,
        )

    def variant_of(
        self,
        name: str,
        *,
        prompt_template: str | None = None,
        prompt_path: Path | None = None,
        model: str | None = None,
        tools: Sequence[Tool] | None = None,
        fallbacks: Sequence[str] | None = None,
    ) -> Agent:
        """A variant of this agent: the same agent with another prompt, model pin or tool set.

        Args:
            name: the variant's name (``[a-z0-9_-]``, not ``stable``).
            prompt_template: another prompt template.
            prompt_path: a file holding another prompt template.
            model: another model pin.
            tools: another tool set.
            fallbacks: other fallbacks.

        Raises:
            AgentError: a bad name, or a prompt file that cannot be read.
        """
        if not name or name == "stable" or not all(c.isalnum() or c in "-_" for c in name):
            raise AgentError(
                f"agent {self.name}: variant name {name!r} is not allowed. "
                "Fix: use letters, digits, '-' or '_', and not 'stable'."
            )
        if prompt_path is not None:
            try:
                prompt_template = prompt_path.read_text(encoding="utf-8")
            except OSError as exc:
                raise AgentError(
                    f"agent {self.name}: cannot read variant {name}'s prompt {prompt_path}: "
                    f"{exc.strerror}"
                ) from None
        return replace(
            self,
            variant=name,
            variants=(),
            prompt_template=self.prompt_template if prompt_template is None else prompt_template,
            model=model or self.model,
            tools=self.tools if tools is None else tuple(tools),
            fallbacks=self.fallbacks if fallbacks is None else tuple(fallbacks),
        )

    def with_variants(self, *variants: Agent) -> Agent:
        """This agent carrying ``variants`` (each made with :meth:`variant_of`)."""
        return replace(self, variants=(*self.variants, *variants))

    def get_variant(self, name: str | None) -> Agent:
        """The variant called ``name``; the stable definition for None or ``stable``.

        Raises:
            AgentNotFound: listing the variants there are.
        """
        if name in (None, "stable"):
            return self
        for candidate in self.variants:
            if candidate.variant == name:
                return candidate
        known = ", ".join(str(v.variant) for v in self.variants) or "none"
        raise AgentNotFound(
            f"agent {self.name} has no variant {name!r} (variants: {known}). "
            f"Fix: define it in agent.py with agent.variant_of({name!r}, ...)."
        )

    @property
    def variant_name(self) -> str:
        """The variant's name, ``stable`` for the stable definition."""
        return self.variant or "stable"

    @property
    def provider(self) -> str:
        """The provider half of the model pin."""
        return self.model.split(":", 1)[0]

    @functools.cached_property
    def system_prompt(self) -> str:
        """The rendered system prompt."""
        tool_list = "\n".join(f"- {t.name}: {t.description.splitlines()[0]}" for t in self.tools)
        return string.Template(self.prompt_template).safe_substitute(
            agent_name=self.name, tool_list=tool_list
        )

    @functools.cached_property
    def prompt_hash(self) -> str:
        """Content hash of the prompt template."""
        return _sha256(self.prompt_template)

    @functools.cached_property
    def tool_schemas_hash(self) -> str:
        """Content hash of the tool schemas and flags, in order."""
        described = [describe_tool(t) for t in self.tools]
        return _sha256(json.dumps(described, sort_keys=True))

    @functools.cached_property
    def version(self) -> str:
        """Content hash of prompt, tool schemas, model pin and fallbacks: what a run ran with."""
        pins = self.model + "".join(f">{f}" for f in self.fallbacks)
        return _sha256(f"{self.prompt_hash}:{self.tool_schemas_hash}:{pins}")[:16]

    def tool(self, name: str) -> Tool | None:
        """The tool called ``name``, if the agent has one."""
        return next((t for t in self.tools if t.name == name), None)
