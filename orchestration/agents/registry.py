"""The agents of the agent directories: loading each ``<dir>/agent.py``, and finding them by
name (or at a version). A folder that fails to load is kept as a broken agent with a one-line
reason, so one mistake never stops the commands that do not need that agent.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from orchestration.agents._problems import BrokenAgent, describe_load_error
from orchestration.agents.definition import LOADING, Agent
from orchestration.errors import AgentError, AgentNotFound

__all__ = ["AgentRegistry", "import_agent_module", "load_registry"]


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
    digest = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:8]
    return f"chordline_agents_{directory.name.replace('-', '_')}_{digest}"


def import_agent_module(directory: Path) -> ModuleType:
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
    token = LOADING.set(directory)
    try:
        return importlib.import_module(f"{package}.agent")
    except BaseException:
        # Forget the half-imported modules, so fixing the file and loading again works.
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]
        raise
    finally:
        LOADING.reset(token)


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
    module = import_agent_module(child)
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
