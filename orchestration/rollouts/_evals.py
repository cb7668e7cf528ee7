"""Eval pass rates per agent version, for the rollout check to compare where they exist.

:class:`EvalResults` reads the newest eval of a version from the ``eval_results`` table that the
eval job writes (``metrics.overall.pass_at_1``); without that table, or without an eval of the
version, there is no pass rate and the check compares the other figures only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from orchestration.rollouts import store

if TYPE_CHECKING:
    from orchestration.journal import Journal

__all__ = ["EvalResults", "EvalScores"]


class EvalScores(Protocol):
    """Where a version's eval pass rate comes from."""

    def pass_rate(self, agent: str, version: str) -> float | None:
        """The version's latest pass rate in 0..1, or None when it has none."""
        ...


class EvalResults:
    """Pass rates from the ``eval_results`` table of the journal database.

    Args:
        journal: the journal.
    """

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def pass_rate(self, agent: str, version: str) -> float | None:
        """The newest eval of ``agent`` at ``version``: its overall pass@1."""
        return _pass_at_1(store.latest_eval_metrics(self.journal, agent, version))


def _pass_at_1(metrics: Any) -> float | None:
    if not isinstance(metrics, dict):
        return None
    overall = metrics.get("overall")
    value = overall.get("pass_at_1") if isinstance(overall, dict) else None
    return float(value) if isinstance(value, int | float) else None
