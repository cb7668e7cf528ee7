"""Agents as code: ``agents/<dir>/agent.py`` defines ``agent = Agent.from_files(...)``.

An agent's version is a content hash of its prompt template, its tool schemas and its model pin,
so every run records exactly what it ran with. An agent may carry variants (another prompt, model
pin or tool set, each with a version of its own) that a canary rollout routes runs to.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.machinery
import importlib.util
import json
import os
import string
import sys
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from types import ModuleType

from orchestration.agents.problems import BrokenAgent, describe_load_error
from orchestration.agents.tools import Tool
from orchestration.errors import AgentError, AgentNotFound

__all__ = ["Agent", "AgentRegistry", "describe_tool", "load_registry", "tool_hash"]


# The folder whose agent.py is being imported, so `Agent.from_files` may omit `directory`.
_loading: ContextVar[Path | None] = ContextVar("chordline_agent_loading", default=None)


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
        directory = directory or _loading.get()
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


class AgentRegistry:
    """The agents found in one directory, by name."""

    def __init__(
        self,
        agents: dict[str, Agent],
        directories: tuple[Path, ...],
        broken: Sequence[BrokenAgent] = (),
    ) -> None:
        self._agents = agents
        self.directories = directories
        self.broken = tuple(broken)

    @property
    def directory(self) -> str:
        """The agent directories, for messages."""
        return os.pathsep.join(str(d) for d in self.directories)

    def get(self, name: str) -> Agent:
        """The agent called ``name``.

        Raises:
            AgentError: the folder that would hold ``name`` is broken (the reason and fix).
            AgentNotFound: listing the agents there are, and the broken ones.
        """
        try:
            return self._agents[name]
        except KeyError:
            pass
        folder = name.replace("-", "_")
        for broken in self.broken:
            if broken.label.replace("-", "_") == folder:
                raise AgentError(f"agent {name!r} is broken: {broken.reason}")
        known = ", ".join(sorted(self._agents)) or "none"
        also = ""
        if self.broken:
            labels = ", ".join(b.label for b in self.broken)
            also = f"; broken, see `chordline agents`: {labels}"
        raise AgentNotFound(
            f"unknown agent {name!r} (agents in {self.directory}: {known}{also}). "
            "Fix: use one of those names or add agents/<dir>/agent.py."
        )

    def names(self) -> list[str]:
        """The agent names, sorted."""
        return sorted(self._agents)

    def at_version(self, name: str, version: str) -> Agent | None:
        """The loaded definition of ``name`` (stable or a variant) whose version is ``version``."""
        agent = self._agents.get(name)
        if agent is None:
            return None
        return next((a for a in (agent, *agent.variants) if a.version == version), None)


def _package_name(directory: Path) -> str:
    # The path's hash keeps two folders of the same name (in two agent directories, or two
    # test trees) from sharing one module.
    digest = _sha256(str(directory.resolve()))[:8]
    return f"chordline_agents_{directory.name.replace('-', '_')}_{digest}"


def _import_agent_module(directory: Path) -> ModuleType:
    """Import ``directory/agent.py`` as ``<package>.agent``; ``__init__.py`` is optional."""
    package = _package_name(directory)
    if package not in sys.modules:
        spec = importlib.machinery.ModuleSpec(package, None, is_package=True)
        # No loader: a folder without __init__.py is a plain namespace for agent.py and tools.py.
        spec.submodule_search_locations = [str(directory)]
        initializer = directory / "__init__.py"
        if initializer.is_file():
            found = importlib.util.spec_from_file_location(
                package, initializer, submodule_search_locations=[str(directory)]
            )
            if found is not None:
                spec = found
        module = importlib.util.module_from_spec(spec)
        sys.modules[package] = module
        try:
            if spec.loader is not None:
                spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[package]
            raise
    token = _loading.set(directory)
    try:
        return importlib.import_module(f"{package}.agent")
    except BaseException:
        # Forget the half-imported modules, so fixing the file and loading again works.
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]
        raise
    finally:
        _loading.reset(token)


@functools.cache
def load_registry(directories: tuple[Path, ...]) -> AgentRegistry:
    """Load every ``<directory>/*/agent.py`` of each directory.

    An agent that fails to load is kept as a :class:`BrokenAgent` with a one-line reason, so
    one broken agent does not stop the others (or commands that need none).

    Raises:
        AgentError: an agents directory does not exist.
    """
    agents: dict[str, Agent] = {}
    broken: list[BrokenAgent] = []
    for directory in directories:
        if not directory.is_dir():
            raise AgentError(
                f"agents directory {directory} does not exist. Fix: run from the project root "
                "or set CHORDLINE_AGENTS_DIR to the directory that holds your agents."
            )
        for child in sorted(directory.iterdir()):
            if (child / "agent.py").is_file():
                try:
                    agent = _load_agent(child, agents)
                except Exception as exc:
                    broken.append(BrokenAgent(child, describe_load_error(exc, child)))
                    continue
                agents[agent.name] = agent
    return AgentRegistry(agents, directories, broken)


def _load_agent(child: Path, agents: dict[str, Agent]) -> Agent:
    module = _import_agent_module(child)
    agent = getattr(module, "agent", None)
    if not isinstance(agent, Agent):
        raise AgentError(
            "agent.py defines no `agent`. Fix: end it with `agent = Agent.from_files(name=..., "
            "model=..., tools=[...])`."
        )
    if agent.name in agents:
        raise AgentError(
            f"another agent is already called {agent.name!r}. Fix: give this one another name."
        )
    return agent
