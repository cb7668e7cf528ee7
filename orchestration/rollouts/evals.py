"""Eval pass rates per agent version, for the rollout check to compare where they exist.

:class:`EvalResults` reads the newest eval of a version from the ``eval_results`` table that the
eval job writes (``metrics.overall.pass_at_1``); without that table, or without an eval of the
version, there is no pass rate and the check compares the other figures only.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import JSON, Engine, String, column, inspect, select, table
from sqlalchemy.types import DateTime

__all__ = ["EvalResults", "EvalScores"]

_EVAL_RESULTS = table(
    "eval_results",
    column("agent", String),
    column("agent_version", String),
    column("metrics", JSON),
    column("created_at", DateTime(timezone=True)),
)


class EvalScores(Protocol):
    """Where a version's eval pass rate comes from."""

    def pass_rate(self, agent: str, version: str) -> float | None:
        """The version's latest pass rate in 0..1, or None when it has none."""
        ...


class EvalResults:
    """Pass rates from the ``eval_results`` table of the journal database.

    Args:
        engine: the journal's engine.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def pass_rate(self, agent: str, version: str) -> float | None:
        """The newest eval of ``agent`` at ``version``: its overall pass@1."""
        if not inspect(self.engine).has_table("eval_results"):
            return None
        query = (
            select(_EVAL_RESULTS.c.metrics)
            .where(_EVAL_RESULTS.c.agent == agent, _EVAL_RESULTS.c.agent_version == version)
            .order_by(_EVAL_RESULTS.c.created_at.desc())
            .limit(1)
        )
        with self.engine.connect() as connection:
            metrics = connection.execute(query).scalar()
        return _pass_at_1(metrics)


def _pass_at_1(metrics: Any) -> float | None:
    if not isinstance(metrics, dict):
        return None
    overall = metrics.get("overall")
    value = overall.get("pass_at_1") if isinstance(overall, dict) else None
    return float(value) if isinstance(value, int | float) else None
