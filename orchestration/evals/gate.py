"""Quality gates: thresholds on the latest eval, and regressions against a baseline file.

A baseline (``evals/<agent>/baseline.json``) is an eval's metrics frozen in git. The gate fails
on a breach of a threshold (pass@1 below ``min_pass_rate``, p95 latency or cost per case above
their maximum) and on a regression: pass@1, pass^k, tool precision or recall, overall or in a
category, more than ``tolerance`` below the baseline (absolute), or the cost per case more than
``tolerance`` (relative) above it. Latency is held to its threshold only: it measures the
machine as much as the agent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration.errors import EvalError
from orchestration.evals.results import EvalRecord, Metrics

__all__ = [
    "Baseline",
    "Breach",
    "GateThresholds",
    "baseline_json",
    "check_gate",
    "load_baseline",
    "regressions",
]

# The quality metrics a baseline holds the agent to (higher is better).
_QUALITY = (
    ("pass@1", "pass_at_1"),
    ("pass^k", "pass_hat_k"),
    ("tool precision", "tool_precision"),
    ("tool recall", "tool_recall"),
)


@dataclass(frozen=True)
class GateThresholds:
    """The gate's limits; any may be None (not checked)."""

    min_pass_rate: float | None = None
    max_p95_latency_s: float | None = None
    max_cost_per_case: float | None = None
    tolerance: float = 0.05


@dataclass(frozen=True)
class Breach:
    """One failed condition: the metric, its value, the limit it broke and by how much."""

    metric: str
    value: float | None
    limit: float
    delta: float
    reason: str

    def __str__(self) -> str:
        value = "unknown" if self.value is None else f"{self.value:.4g}"
        return f"{self.metric} = {value}: {self.reason} (delta {self.delta:+.4g})"


@dataclass(frozen=True)
class Baseline:
    """The metrics an agent is held to, from ``baseline.json``."""

    agent: str
    agent_version: str
    dataset_hash: str
    k: int
    overall: Metrics
    by_category: dict[str, Metrics]


def baseline_json(record: EvalRecord) -> dict[str, Any]:
    """The baseline file's content for ``record``."""
    return {
        "agent": record.agent,
        "agent_version": record.agent_version,
        "dataset_hash": record.dataset_hash,
        "eval_id": record.id,
        "created_at": record.created_at.isoformat(timespec="seconds"),
        "models": record.models,
        "k": record.k,
        "metrics": record.metrics_json(),
    }


def load_baseline(path: Path) -> Baseline:
    """Read a baseline file.

    Raises:
        EvalError: the file is missing or not a baseline, naming the fix.
    """
    if not path.is_file():
        raise EvalError(
            f"baseline {path} does not exist. Fix: run `chordline eval run AGENT`, then "
            "`chordline eval baseline AGENT`, and commit the file."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        metrics = data["metrics"]
        return Baseline(
            agent=data["agent"],
            agent_version=data.get("agent_version", ""),
            dataset_hash=data.get("dataset_hash", ""),
            k=int(data.get("k", 1)),
            overall=Metrics.from_json(metrics["overall"]),
            by_category={n: Metrics.from_json(m) for n, m in metrics["by_category"].items()},
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise EvalError(
            f"baseline {path} is not a baseline ({type(exc).__name__}: {exc}). Fix: write it "
            "again with `chordline eval baseline AGENT`."
        ) from None


def _quality_regressions(scope: str, now: Metrics, was: Metrics, tolerance: float) -> list[Breach]:
    found = []
    for label, name in _QUALITY:
        if name == "pass_hat_k" and now.k != was.k:
            continue  # pass^k of another k is another metric
        before, after = getattr(was, name), getattr(now, name)
        if before is None or after is None:
            continue
        if after < before - tolerance:
            found.append(
                Breach(
                    f"{label}{scope}",
                    after,
                    before,
                    after - before,
                    f"fell below the baseline {before:.4g} by more than {tolerance:g}",
                )
            )
    return found


def regressions(record: EvalRecord, baseline: Baseline, tolerance: float) -> list[Breach]:
    """What moved the wrong way against ``baseline``, beyond ``tolerance``."""
    found = _quality_regressions("", record.overall, baseline.overall, tolerance)
    for name, was in baseline.by_category.items():
        now = record.by_category.get(name)
        if now is not None:
            found += _quality_regressions(f" [{name}]", now, was, tolerance)
    before, after = baseline.overall.cost_per_case, record.overall.cost_per_case
    if before is not None and after is not None and after > before * (1 + tolerance) + 1e-9:
        found.append(
            Breach(
                "cost per case",
                after,
                before,
                after - before,
                f"rose above the baseline ${before:.4g} by more than {tolerance:.0%}",
            )
        )
    return found


def check_gate(
    record: EvalRecord, thresholds: GateThresholds, baseline: Baseline | None
) -> list[Breach]:
    """Every breach of ``thresholds`` and every regression against ``baseline``; empty: pass."""
    overall = record.overall
    found: list[Breach] = []
    if thresholds.min_pass_rate is not None and overall.pass_at_1 < thresholds.min_pass_rate:
        found.append(
            Breach(
                "pass@1",
                overall.pass_at_1,
                thresholds.min_pass_rate,
                overall.pass_at_1 - thresholds.min_pass_rate,
                f"below the minimum {thresholds.min_pass_rate:g}",
            )
        )
    limit = thresholds.max_p95_latency_s
    if limit is not None and overall.latency_p95_s > limit:
        found.append(
            Breach(
                "p95 latency s",
                overall.latency_p95_s,
                limit,
                overall.latency_p95_s - limit,
                f"above the maximum {limit:g}s",
            )
        )
    cap = thresholds.max_cost_per_case
    if cap is not None:
        cost = overall.cost_per_case
        if cost is None:
            found.append(Breach("cost per case", None, cap, 0.0, "unknown (a model has no price)"))
        elif cost > cap:
            found.append(
                Breach("cost per case", cost, cap, cost - cap, f"above the maximum ${cap:g}")
            )
    if baseline is not None:
        found += regressions(record, baseline, thresholds.tolerance)
    return found
