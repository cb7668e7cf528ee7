"""``chordline.lock``: the agents' versions and exact model pins, written and checked in CI.

``chordline lock`` refuses floating aliases (unless ``CHORDLINE_ALLOW_MODEL_ALIASES``) and writes,
per agent, its version (the hash of prompt, tool schemas and pins), its chain of deployments and
whether each has a price, with the price table's version, and the content hash of its eval dataset
(``evals/<agent>/*.jsonl``). ``chordline lock --check`` fails when the agents or their datasets no
longer match the file, so a changed prompt, tool, pin or eval case is a reviewed change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration.agents.registry import AgentRegistry
from orchestration.config import EvalSettings, LlmSettings
from orchestration.errors import ConfigError
from orchestration.evals.dataset import dataset_hash
from orchestration.llm import pricing
from orchestration.llm.deployments import alias_problem, parse

__all__ = ["LOCK_FILE", "LockReport", "build_lock", "compare_lock", "write_lock"]

LOCK_FILE = "chordline.lock"


@dataclass(frozen=True)
class LockReport:
    """What locking found: the lock's content, pins refused, and pins without a price."""

    content: dict[str, Any]
    refused: tuple[str, ...]
    unpriced: tuple[str, ...]


def build_lock(registry: AgentRegistry, settings: EvalSettings, llm: LlmSettings) -> LockReport:
    """The lock for the agents as they are now.

    Args:
        registry: the agents.
        settings: the evals directory (each dataset's hash).
        llm: whether aliases are allowed.

    Returns:
        The lock content, with the pins it refuses and those it cannot price.
    """
    agents: dict[str, Any] = {}
    refused: list[str] = []
    unpriced: list[str] = []
    stables = [registry.get(name) for name in registry.names()]
    # A variant is locked as agent:variant, so changing its prompt, tools or pins is reviewed too.
    for agent in [a for stable in stables for a in (stable, *stable.variants)]:
        name = agent.name if agent.variant is None else f"{agent.name}:{agent.variant}"
        chain = [parse(agent.model), *(parse(f) for f in agent.fallbacks)]
        for deployment in chain:
            problem = alias_problem(deployment)
            if problem is not None and not llm.allow_model_aliases:
                refused.append(f"{name}: {problem}")
            if pricing.price_of(deployment.provider, deployment.model) is None:
                unpriced.append(f"{name}: {deployment.name}")
        agents[name] = {
            "version": agent.version,
            "prompt_hash": agent.prompt_hash,
            "tool_schemas_hash": agent.tool_schemas_hash,
            "model": agent.model,
            "fallbacks": list(agent.fallbacks),
            "eval_dataset": dataset_hash(settings.evals_dir, name),
        }
    content = {"prices_version": pricing.PRICES_VERSION, "agents": agents}
    return LockReport(content, tuple(refused), tuple(unpriced))


def write_lock(content: dict[str, Any], path: Path) -> None:
    """Write the lock file.

    Raises:
        ConfigError: its folder does not exist or cannot be written, with the fix.
    """
    if not path.parent.is_dir():
        raise ConfigError(
            f"cannot write {path}: the folder {path.parent} does not exist. Fix: create it "
            f"(mkdir -p {path.parent}) or pass --file a path in an existing folder."
        )
    try:
        path.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot write {path}: {exc.strerror}. Fix: pass --file a path you may write to."
        ) from None


def compare_lock(current: dict[str, Any], path: Path) -> list[str]:
    """Differences between the agents now and the lock file at ``path``; empty when they match.

    Raises:
        ConfigError: there is no lock file, or it is not one, with how to create it.
    """
    if not path.is_file():
        raise ConfigError(
            f"{path} does not exist, so there is nothing to check the agents against. Fix: run "
            f"`chordline lock --file {path}` once, commit the file, and keep "
            "`chordline lock --check` in CI."
        )
    try:
        locked = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{path} cannot be read as a lock file ({exc}). Fix: run `chordline lock --file "
            f"{path}` to write it again, then review the diff."
        ) from None
    if not isinstance(locked, dict):
        raise ConfigError(f"{path} is not a lock file. Fix: run `chordline lock --file {path}`.")
    problems: list[str] = []
    before, now = locked.get("agents", {}), current["agents"]
    for name in sorted(set(before) | set(now)):
        if name not in now:
            problems.append(f"{name}: locked but no longer defined")
        elif name not in before:
            problems.append(f"{name}: defined but not locked")
        else:
            for field in ("model", "fallbacks", "version", "eval_dataset"):
                was, is_ = before[name].get(field), now[name][field]
                if was != is_:
                    problems.append(f"{name}: {field} is {is_!r}, locked {was!r}")
    if locked.get("prices_version") != current["prices_version"]:
        problems.append(
            f"price table is {current['prices_version']}, locked {locked.get('prices_version')}"
        )
    return problems
