"""Release records: the commit, the lock's hash and each agent's version with its eval figures.

A release is refused when an agent that has a dataset has no eval, its latest eval is older
than its version or its dataset, or it fails its gate (the thresholds in the settings and the
baseline file beside its dataset). A record goes into the ``releases`` table and
``releases/<time>-<commit>.json``.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from orchestration.agents.registry import AgentRegistry
from orchestration.config import EvalSettings, LlmSettings
from orchestration.errors import ReleaseRefused
from orchestration.evals import store
from orchestration.evals.dataset import dataset_dir, dataset_hash
from orchestration.evals.gate import GateThresholds, check_gate, load_baseline
from orchestration.evals.lock import LOCK_FILE, build_lock, compare_lock
from orchestration.journal import Journal
from orchestration.journal.tables import utcnow

__all__ = ["ReleaseRecord", "git_commit", "lock_hash", "prepare_release", "thresholds_of", "write"]


@dataclass(frozen=True)
class ReleaseRecord:
    """What a release carries; ``agents`` maps each agent to its version and eval figures."""

    id: str
    git_commit: str
    lock_hash: str
    agents: dict[str, dict[str, Any]]
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        """As plain JSON (the release file)."""
        return {
            "id": self.id,
            "git_commit": self.git_commit,
            "lock_hash": self.lock_hash,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "agents": self.agents,
        }


def git_commit(cwd: Path | None = None) -> str:
    """The checked-out commit, with ``-dirty`` when files differ from it; ``unknown`` outside
    a git checkout."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if status.strip() else "")


def lock_hash(
    registry: AgentRegistry, settings: EvalSettings, llm: LlmSettings, lock_file: Path
) -> str:
    """The sha256 of the lock as ``chordline lock`` writes it.

    Raises:
        ReleaseRefused: ``lock_file`` exists and no longer matches the agents.
    """
    content = build_lock(registry, settings, llm).content
    if lock_file.is_file():
        problems = compare_lock(content, lock_file)
        if problems:
            raise ReleaseRefused(
                f"{lock_file} does not match the agents: {'; '.join(problems)}. Fix: review, "
                "run `chordline lock` and commit it."
            )
    text = json.dumps(content, indent=2, sort_keys=True) + "\n"
    return hashlib.sha256(text.encode()).hexdigest()


def thresholds_of(settings: EvalSettings) -> GateThresholds:
    """The gate's limits from the settings."""
    return GateThresholds(
        min_pass_rate=settings.eval_min_pass_rate,
        max_p95_latency_s=settings.eval_max_p95_latency_s,
        max_cost_per_case=settings.eval_max_cost_per_case,
        tolerance=settings.eval_tolerance,
    )


def _agent_entry(
    journal: Journal, registry: AgentRegistry, settings: EvalSettings, name: str
) -> tuple[dict[str, Any] | None, list[str]]:
    agent = registry.get(name)
    current_hash = dataset_hash(settings.evals_dir, name)
    if current_hash is None:
        return None, []
    latest = store.latest(journal, name)
    if latest is None:
        return None, [f"{name}: no eval stored. Fix: `chordline eval run {name}`."]
    if latest.agent_version != agent.version or latest.dataset_hash != current_hash:
        changed = "version" if latest.agent_version != agent.version else "dataset"
        return None, [
            f"{name}: the latest eval ({latest.id[:8]}) is older than the agent's {changed}. "
            f"Fix: `chordline eval run {name}`."
        ]
    baseline_path = dataset_dir(settings.evals_dir, name) / "baseline.json"
    baseline = load_baseline(baseline_path) if baseline_path.is_file() else None
    breaches = check_gate(latest, thresholds_of(settings), baseline)
    if breaches:
        return None, [f"{name}: gate failed: {b}" for b in breaches]
    return {
        "version": agent.version,
        "model": latest.models.get("model"),
        "eval_id": latest.id,
        "eval_at": latest.created_at.isoformat(timespec="seconds"),
        "dataset_hash": latest.dataset_hash,
        "k": latest.k,
        "metrics": latest.overall.to_json(),
    }, []


def prepare_release(
    journal: Journal,
    registry: AgentRegistry,
    settings: EvalSettings,
    llm: LlmSettings,
    *,
    root: Path,
) -> ReleaseRecord:
    """Build a release record for the agents as they are.

    Args:
        journal: where evals are stored.
        registry: the agents.
        settings: thresholds and the evals directory.
        llm: whether the lock allows model aliases.
        root: the checkout (its git commit and ``chordline.lock``).

    Raises:
        ReleaseRefused: listing every agent that fails, and why.
    """
    agents: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    try:
        digest = lock_hash(registry, settings, llm, root / LOCK_FILE)
    except ReleaseRefused as exc:  # said together with every agent's own problems
        digest, problems = "", [str(exc)]
    for name in registry.names():
        entry, found = _agent_entry(journal, registry, settings, name)
        problems += found
        if entry is not None:
            agents[name] = entry
    if problems:
        raise ReleaseRefused("release refused:\n  " + "\n  ".join(problems))
    if not agents:
        raise ReleaseRefused(
            f"no agent has an eval dataset under {settings.evals_dir}. Fix: add "
            f"{settings.evals_dir}/AGENT/cases.jsonl and run `chordline eval run AGENT`."
        )
    return ReleaseRecord(str(uuid.uuid4()), git_commit(root), digest, agents, utcnow())


def write(journal: Journal, record: ReleaseRecord, directory: Path) -> Path:
    """Insert the record and write ``<directory>/<time>-<commit>.json``; returns the file."""
    store.insert_release(
        journal,
        release_id=record.id,
        git_commit=record.git_commit,
        lock_hash=record.lock_hash,
        agents=record.agents,
        created_at=record.created_at,
    )
    directory.mkdir(parents=True, exist_ok=True)
    stamp = record.created_at.strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"{stamp}-{record.git_commit[:12]}.json"
    path.write_text(json.dumps(record.to_json(), indent=2) + "\n", encoding="utf-8")
    return path
