"""Metrics of an eval: pass@1, tau-bench's pass^k, tool precision and recall, latency, cost.

``pass^k`` is the chance that *all* of k independent trials of a case pass: with n trials of
which c passed, ``C(c, k) / C(n, k)`` per case, averaged over the cases (tau-bench, Yao et al.
2024). With n = k it is the share of cases whose every trial passed. ``pass@1`` is the mean of
c / n.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence

from orchestration.evals.results import Metrics, TrialOutcome

__all__ = ["pass_hat_k", "percentile", "summarise"]


def pass_hat_k(passed: int, trials: int, k: int) -> float:
    """``C(passed, k) / C(trials, k)`` for one case.

    Raises:
        ValueError: k is not between 1 and ``trials``.
    """
    if not 1 <= k <= trials:
        raise ValueError(f"k={k} needs 1 <= k <= trials ({trials})")
    return math.comb(passed, k) / math.comb(trials, k)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0-1) of ``values`` by linear interpolation; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _group(trials: Sequence[TrialOutcome], k: int) -> Metrics:
    by_case: dict[str, list[TrialOutcome]] = defaultdict(list)
    for trial in trials:
        by_case[trial.case_id].append(trial)
    pass1 = [sum(t.passed for t in ts) / len(ts) for ts in by_case.values()]
    hat = [
        pass_hat_k(sum(t.passed for t in ts), len(ts), min(k, len(ts))) for ts in by_case.values()
    ]
    hits = [t.tool_hits for t in trials if t.tool_hits is not None]
    both, called, expected = (sum(h[i] for h in hits) for i in range(3))
    costs = [t.cost_usd for t in trials]
    latencies = [t.latency_s for t in trials]
    return Metrics(
        cases=len(by_case),
        trials=len(trials),
        k=k,
        pass_at_1=statistics.fmean(pass1) if pass1 else 0.0,
        pass_hat_k=statistics.fmean(hat) if hat else 0.0,
        tool_precision=(both / called if called else (1.0 if hits else None)),
        tool_recall=(both / expected if expected else None),
        latency_p50_s=percentile(latencies, 0.5),
        latency_p95_s=percentile(latencies, 0.95),
        tokens_per_case=statistics.fmean(t.tokens for t in trials) if trials else 0.0,
        cost_per_case=(
            None
            if not costs or any(c is None for c in costs)
            else statistics.fmean(c for c in costs if c is not None)
        ),
    )


def summarise(trials: Sequence[TrialOutcome], k: int) -> tuple[Metrics, dict[str, Metrics]]:
    """The metrics of every trial, and of each category's.

    Args:
        trials: the trials (k per case).
        k: trials per case.

    Returns:
        The overall metrics and the metrics per category (sorted by name).
    """
    categories: dict[str, list[TrialOutcome]] = defaultdict(list)
    for trial in trials:
        categories[trial.category].append(trial)
    return _group(trials, k), {name: _group(categories[name], k) for name in sorted(categories)}
