"""Figures and the tables the benchmarks print (Markdown, so docs/benchmarks.md can quote them)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Row", "Table", "percentile"]


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Row:
    """One measured figure against its baseline and target.

    Attributes:
        metric: what was measured, with its unit.
        chordline: Chordline's figure.
        baseline: the baseline's figure in the same unit (None when there is none).
        target: the target in words, e.g. ``ratio <= 2.0``; empty when there is none.
        passed: whether the target was met; None when there is no target.
        ratio: Chordline over baseline unless given.
    """

    metric: str
    chordline: float
    baseline: float | None = None
    target: str = ""
    passed: bool | None = None
    ratio: float | None = None

    @property
    def shown_ratio(self) -> float | None:
        """The ratio to print."""
        if self.ratio is not None:
            return self.ratio
        if self.baseline:
            return self.chordline / self.baseline
        return None


@dataclass
class Table:
    """The result of one benchmark."""

    title: str
    baseline: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def render(self) -> str:
        """The table as Markdown, notes below it."""
        lines = [
            f"### {self.title}",
            "",
            f"| metric | Chordline | baseline: {self.baseline} | ratio | target | result |",
            "|---|---:|---:|---:|---|---|",
        ]
        for row in self.rows:
            ratio = row.shown_ratio
            result = {None: "", True: "pass", False: "**miss**"}[row.passed]
            lines.append(
                f"| {row.metric} | {_fmt(row.chordline)} | {_fmt(row.baseline)} | "
                f"{'' if ratio is None else f'{ratio:.3g}x'} | {row.target} | {result} |"
            )
        lines += [""] + [f"- {note}" for note in self.notes]
        return "\n".join(lines).rstrip() + "\n"


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return f"{value:,}"
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
