"""Per-agent figures read from the journal: what ``chordline stats`` prints and alerts check.

The rows come from :mod:`orchestration.observability.store`; percentiles are computed here so
SQLite and PostgreSQL give the same numbers. A run counts in the window when it
was created in it; its latency is creation to finish, so a run parked at an approval counts its
wait. Step latency is claim to outcome.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from orchestration.journal.tables import RunStatus
from orchestration.observability import store
from orchestration.observability.store import RunFigures

if TYPE_CHECKING:
    from orchestration.journal import Journal

__all__ = ["AgentStats", "agent_stats", "parse_since", "percentile", "tenant_spend"]

_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_TOP_ERRORS = 3


@dataclass(frozen=True)
class AgentStats:
    """One agent's figures over a window.

    Attributes:
        agent: the agent.
        runs: runs created in the window.
        finished: of which finished (any terminal status).
        succeeded: of which succeeded.
        run_p50_s, run_p95_s, run_p99_s: run latency percentiles (finished runs), seconds.
        step_p50_s, step_p95_s, step_p99_s: step latency percentiles, seconds.
        tokens: input plus output tokens.
        cost_usd: what the runs cost.
        top_errors: the most frequent run errors with their counts.
    """

    agent: str
    runs: int
    finished: int
    succeeded: int
    run_p50_s: float | None
    run_p95_s: float | None
    run_p99_s: float | None
    step_p50_s: float | None
    step_p95_s: float | None
    step_p99_s: float | None
    tokens: int
    cost_usd: Decimal
    top_errors: tuple[tuple[str, int], ...]

    @property
    def success_rate(self) -> float | None:
        """Succeeded / finished (None before any run finished)."""
        return self.succeeded / self.finished if self.finished else None

    @property
    def error_rate(self) -> float | None:
        """1 - success rate (None before any run finished)."""
        rate = self.success_rate
        return None if rate is None else 1 - rate

    @property
    def cost_per_run(self) -> Decimal | None:
        """Mean cost of the runs (None without runs)."""
        return (self.cost_usd / self.runs).quantize(Decimal("0.000001")) if self.runs else None


def parse_since(text: str) -> timedelta:
    """``30m``, ``24h``, ``7d``, ``90s``, ``2w`` as a duration.

    Raises:
        ValueError: naming the accepted form.
    """
    match = _SINCE.match(text)
    if match is None or float(match[1]) <= 0:
        raise ValueError(f"{text!r} is not a duration; use a number and s, m, h, d or w (24h)")
    return timedelta(seconds=float(match[1]) * _UNIT_S[match[2]])


def percentile(values: Sequence[float], share: float) -> float | None:
    """The ``share`` (0-1) percentile of ``values`` by nearest rank (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def _error_key(error: str) -> str:
    # Ids and numbers vary between otherwise identical errors: group by the rest.
    return re.sub(r"\d+", "N", error.splitlines()[0] if error else "")[:80]


def agent_stats(journal: Journal, since: datetime, agent: str | None = None) -> list[AgentStats]:
    """Each agent's figures for the runs created at or after ``since``.

    Args:
        journal: the journal.
        since: the window's start (timezone-aware).
        agent: only this agent, when given.

    Returns:
        One entry per agent with runs in the window, by agent name.
    """
    by_agent: dict[str, list[RunFigures]] = defaultdict(list)
    for run in store.run_figures(journal, since, agent):
        by_agent[run.agent].append(run)
    step_times: dict[str, list[float]] = defaultdict(list)
    for agent_name, seconds in store.step_seconds(journal, since, agent):
        step_times[agent_name].append(seconds)
    return [_one(name, runs, step_times[name]) for name, runs in sorted(by_agent.items())]


def _one(name: str, rows: list[RunFigures], steps: list[float]) -> AgentStats:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    finished = succeeded = tokens = 0
    cost = Decimal(0)
    for run in rows:
        tokens += int(str(run.input_tokens or 0)) + int(str(run.output_tokens or 0))
        cost += Decimal(str(run.cost_usd or 0))
        if RunStatus(str(run.status)).terminal:
            finished += 1
            succeeded += run.status == RunStatus.SUCCEEDED
            if isinstance(run.finished_at, datetime) and isinstance(run.created_at, datetime):
                latencies.append((run.finished_at - run.created_at).total_seconds())
        if run.error:
            errors[_error_key(str(run.error))] += 1
    return AgentStats(
        agent=name,
        runs=len(rows),
        finished=finished,
        succeeded=succeeded,
        run_p50_s=percentile(latencies, 0.50),
        run_p95_s=percentile(latencies, 0.95),
        run_p99_s=percentile(latencies, 0.99),
        step_p50_s=percentile(steps, 0.50),
        step_p95_s=percentile(steps, 0.95),
        step_p99_s=percentile(steps, 0.99),
        tokens=tokens,
        cost_usd=cost,
        top_errors=tuple(errors.most_common(_TOP_ERRORS)),
    )


def tenant_spend(journal: Journal, since: datetime) -> dict[str, Decimal]:
    """What each tenant's LLM steps cost since ``since`` (the steps' own journaled cost)."""
    return store.tenant_spend(journal, since)
