"""The records of an eval: each trial's outcome, the metrics, and the eval as stored.

They convert to and from plain JSON (``to_json`` / ``from_json``) only at the edges: the
database's JSON columns and the files under ``CHORDLINE_EVAL_OUTPUT_DIR``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["CheckResult", "EvalRecord", "Metrics", "TrialOutcome"]


@dataclass(frozen=True)
class CheckResult:
    """One check of a trial: passed or not, with expected against actual."""

    check: str
    passed: bool
    expected: str
    actual: str


@dataclass(frozen=True)
class TrialOutcome:
    """One trial of one case.

    Attributes:
        case_id: the case.
        category: its category.
        trial: which trial, from 1.
        run_id: the run (``chordline status RUN_ID``).
        passed: every check passed.
        checks: each check with expected and actual.
        tools_called: the tools the model asked for, in order.
        tool_hits: (expected and called, called, expected), or None when the case names no tools.
        latency_s: submit to settled, in seconds.
        tokens: input plus output tokens of the run.
        cost_usd: the run's cost (None: unknown).
    """

    case_id: str
    category: str
    trial: int
    run_id: str
    passed: bool
    checks: tuple[CheckResult, ...]
    tools_called: tuple[str, ...]
    tool_hits: tuple[int, int, int] | None
    latency_s: float
    tokens: int
    cost_usd: float | None

    @property
    def failed_checks(self) -> tuple[CheckResult, ...]:
        """The checks that failed."""
        return tuple(c for c in self.checks if not c.passed)

    def to_json(self) -> dict[str, Any]:
        """As plain JSON."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrialOutcome:
        """Back from :meth:`to_json`."""
        hits = data.get("tool_hits")
        return cls(
            case_id=data["case_id"],
            category=data["category"],
            trial=int(data["trial"]),
            run_id=data["run_id"],
            passed=bool(data["passed"]),
            checks=tuple(CheckResult(**c) for c in data["checks"]),
            tools_called=tuple(data["tools_called"]),
            tool_hits=None if hits is None else (int(hits[0]), int(hits[1]), int(hits[2])),
            latency_s=float(data["latency_s"]),
            tokens=int(data["tokens"]),
            cost_usd=None if data.get("cost_usd") is None else float(data["cost_usd"]),
        )


@dataclass(frozen=True)
class Metrics:
    """The figures of a group of cases (all of them, or one category).

    Attributes:
        cases: how many cases.
        trials: how many trials in all.
        k: trials per case.
        pass_at_1: the mean share of a case's trials that passed.
        pass_hat_k: tau-bench's pass^k: per case C(c, k) / C(n, k), averaged.
        tool_precision: called and expected / called, over the cases that name tools.
        tool_recall: called and expected / expected, over the cases that name tools.
        latency_p50_s: the median trial latency.
        latency_p95_s: the 95th percentile trial latency.
        tokens_per_case: mean tokens of a trial.
        cost_per_case: mean dollars of a trial (None: some cost is unknown).
    """

    cases: int
    trials: int
    k: int
    pass_at_1: float
    pass_hat_k: float
    tool_precision: float | None
    tool_recall: float | None
    latency_p50_s: float
    latency_p95_s: float
    tokens_per_case: float
    cost_per_case: float | None

    def to_json(self) -> dict[str, Any]:
        """As plain JSON."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Metrics:
        """Back from :meth:`to_json`."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class EvalRecord:
    """One stored eval of an agent.

    Attributes:
        id: the eval's id.
        agent: the agent's name.
        agent_version: the version evaluated.
        dataset_hash: the dataset's content hash.
        models: the pins: the agent's model and fallbacks, and the judge.
        k: trials per case.
        tenant: the tenant its runs carried.
        admin: True for an admin (nightly) eval.
        overall: the metrics of every case.
        by_category: the metrics per category.
        trials: every trial.
        created_at: when it finished.
        regression: what regressed against the baseline (nightly eval), if anything.
    """

    id: str
    agent: str
    agent_version: str
    dataset_hash: str
    models: dict[str, str]
    k: int
    tenant: str
    admin: bool
    overall: Metrics
    by_category: dict[str, Metrics]
    trials: tuple[TrialOutcome, ...]
    created_at: datetime
    regression: str | None = None

    def metrics_json(self) -> dict[str, Any]:
        """The metrics column: overall and by category."""
        return {
            "overall": self.overall.to_json(),
            "by_category": {name: m.to_json() for name, m in self.by_category.items()},
        }

    def to_json(self) -> dict[str, Any]:
        """The whole eval as plain JSON (the result file)."""
        return {
            "id": self.id,
            "agent": self.agent,
            "agent_version": self.agent_version,
            "dataset_hash": self.dataset_hash,
            "models": self.models,
            "k": self.k,
            "tenant": self.tenant,
            "admin": self.admin,
            "created_at": self.created_at.isoformat(),
            "regression": self.regression,
            "metrics": self.metrics_json(),
            "trials": [t.to_json() for t in self.trials],
        }
