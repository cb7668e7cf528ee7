"""Scale with run length: the per-step cost near steps 10, 100 and 1,000 of one long run.

The cost at step ``s`` is the mean time between consecutive step starts over the ten steps
before ``s`` (five LLM turns and five tool calls, which alternate), read from the journal's
``started_at`` stamps. The baseline is the cost at the first point; it should stay flat. Turns
and tool calls are also shown apart: a turn rebuilds the model's conversation from the journal,
a tool call does not, so the split shows where any growth comes from.
"""

from __future__ import annotations

import itertools

from bench.report import Row, Table
from bench.session import Session
from orchestration.models import StepKind
from orchestration.records import StepRecord

__all__ = ["run"]

TARGET = 1.2
_WINDOW = 10


def cost_at(steps: list[StepRecord], step: int, kind: StepKind | None = None) -> float:
    """Mean ms from the start of each step to the start of the next, over the ``_WINDOW`` steps
    before ``step`` (only those of ``kind`` when given)."""
    pairs = [
        (a.kind, (b.started_at - a.started_at).total_seconds() * 1000)
        for a, b in itertools.pairwise(steps)
        if a.started_at is not None and b.started_at is not None
    ]
    first = max(0, min(step - 1 - _WINDOW, len(pairs) - _WINDOW))
    window = [ms for k, ms in pairs[first : first + _WINDOW] if kind is None or k == kind]
    return sum(window) / len(window) if window else float("nan")


def run(session: Session) -> Table:
    """Measure and return the table."""
    size = session.size
    session.shared_workers()
    ticks = size.scale_ticks
    (run_id,) = session.submit("counter", f"tick {ticks} times")
    session.wait([run_id], timeout=60 + ticks)
    steps = session.journal.steps(run_id)
    points = size.scale_points
    rows: list[Row] = []
    for label, kind in (("", None), (", LLM turns", StepKind.LLM), (", tool calls", StepKind.TOOL)):
        base = cost_at(steps, points[0], kind)
        rows.append(Row(f"ms/step near step {points[0]}{label}", base))
        for point in points[1:]:
            cost = cost_at(steps, point, kind)
            judged = kind is None and point == points[-1]
            rows.append(
                Row(
                    f"ms/step near step {point}{label}",
                    cost,
                    base,
                    f"ratio <= {TARGET:g}" if judged else "",
                    cost / base <= TARGET if judged else None,
                )
            )
    return Table(
        title=f"4. Scale with run length: one run of {2 * ticks + 1} steps (ms per step)",
        baseline=f"same, near step {points[0]}",
        rows=rows,
        notes=[
            f"counter agent, one run; cost = mean of the {_WINDOW} step-to-step intervals "
            "before the point; a turn's interval includes rebuilding the conversation."
        ],
    )
