"""Scale with run length: the per-step cost near steps 10, 100 and 1,000 of one long run.

The cost at step ``s`` is the time between consecutive step starts over the twenty steps before
``s`` (ten LLM turns and ten tool calls, which alternate; the median of each kind), read from the
journal's ``started_at`` stamps. The baseline is the cost at the first point; it should stay
flat. Turns and tool calls are also shown apart: a turn rebuilds the model's conversation from
the journal, a tool call does not, so the split shows where any growth comes from.
"""

from __future__ import annotations

import itertools
import statistics

from bench.report import Row, Table
from bench.session import Session
from orchestration.journal.records import StepRecord
from orchestration.journal.tables import StepKind

__all__ = ["run"]

TARGET = 1.2
_WINDOW = 20


def cost_at(steps: list[StepRecord], step: int, kind: StepKind | None = None) -> float:
    """Ms from the start of a step to the start of the next, near ``step``: the median over the
    ``_WINDOW`` steps before it of each kind (only ``kind`` when given; for both kinds, the mean
    of the two medians, so one step a busy machine stalled does not move the figure)."""
    pairs = [
        (a.kind, (b.started_at - a.started_at).total_seconds() * 1000)
        for a, b in itertools.pairwise(steps)
        if a.started_at is not None and b.started_at is not None
    ]
    first = max(0, min(step - 1 - _WINDOW, len(pairs) - _WINDOW))
    window = pairs[first : first + _WINDOW]
    kinds = [kind] if kind is not None else [StepKind.LLM, StepKind.TOOL]
    medians = [statistics.median(ms for k, ms in window if k == each) for each in kinds]
    return sum(medians) / len(medians)


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
            f"counter agent, one run; cost = per kind, the median of the step-to-step "
            f"intervals among the {_WINDOW} steps before the point; 'all steps' is the mean of "
            "the two kinds; a turn's interval includes rebuilding the conversation."
        ],
    )
