"""Scale with run length: the per-step cost near steps 10, 100 and 1,000 of one long run.

The cost at step ``s`` is the mean time between consecutive step starts over the ten steps
before ``s`` (five LLM turns and five tool calls, which alternate), read from the journal's
``started_at`` stamps. The baseline is the cost at the first point; it should stay flat.
"""

from __future__ import annotations

from bench.report import Row, Table
from bench.session import Session, start_intervals_ms

__all__ = ["run"]

TARGET = 1.2
_WINDOW = 10


def cost_at(intervals: list[float], step: int) -> float:
    """Mean of the ``_WINDOW`` intervals leading up to ``step`` (interval k: step k to k + 1)."""
    first = max(1, min(step - _WINDOW, len(intervals) - _WINDOW + 1))
    window = intervals[first - 1 : first - 1 + _WINDOW]
    return sum(window) / len(window)


def run(session: Session) -> Table:
    """Measure and return the table."""
    size = session.size
    session.shared_workers()
    ticks = size.scale_ticks
    (run_id,) = session.submit("counter", f"tick {ticks} times")
    session.wait([run_id], timeout=60 + ticks)
    intervals = start_intervals_ms(session.journal.steps(run_id))
    points = size.scale_points
    base = cost_at(intervals, points[0])
    rows = [Row(f"ms/step near step {points[0]}", base)]
    for point in points[1:]:
        cost = cost_at(intervals, point)
        last = point == points[-1]
        rows.append(
            Row(
                f"ms/step near step {point}",
                cost,
                base,
                f"ratio <= {TARGET:g}" if last else "",
                cost / base <= TARGET if last else None,
            )
        )
    return Table(
        title=f"4. Scale with run length: one run of {2 * ticks + 1} steps (ms per step)",
        baseline=f"ms/step near step {points[0]}",
        rows=rows,
        notes=[
            f"counter agent, one run; cost = mean of the {_WINDOW} step-to-step intervals "
            "before the point (LLM turns and tool calls alternate)."
        ],
    )
