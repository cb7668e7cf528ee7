"""``chordline stats``: per-agent figures from the journal over a window."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import click
from rich.console import RenderableType
from rich.markup import escape

from orchestration.cli.base import console, load_cli_settings, main
from orchestration.cli.tables import Column, fitted
from orchestration.journal import open_journal
from orchestration.journal.tables import utcnow
from orchestration.observability.stats import AgentStats, agent_stats, parse_since

__all__ = ["stats", "stats_table"]


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _usd(value: Decimal | None) -> str:
    return "-" if value is None else f"${value:.6f}"


def stats_table(rows: list[AgentStats], since: str, width: int) -> RenderableType:
    """The stats within ``width`` columns: one row per agent, or a block each when narrow."""
    columns = [Column("agent")]
    columns += [
        Column(name, right=True)
        for name in ("runs", "success", "run p50/p95/p99", "step p50/p95/p99", "tokens", "cost/run")
    ]
    columns.append(Column("top errors", prose=True))
    cells = []
    for row in rows:
        errors = "\n".join(f"{count}x {text}" for text, count in row.top_errors) or "-"
        cells.append(
            [
                escape(row.agent),
                str(row.runs),
                _share(row.success_rate),
                " / ".join(_seconds(v) for v in (row.run_p50_s, row.run_p95_s, row.run_p99_s)),
                " / ".join(_seconds(v) for v in (row.step_p50_s, row.step_p95_s, row.step_p99_s)),
                str(row.tokens),
                _usd(row.cost_per_run),
                escape(errors),
            ]
        )
    return fitted(columns, cells, width, title=f"runs created in the last {since}")


def _document(row: AgentStats) -> dict[str, Any]:
    return {
        "agent": row.agent,
        "runs": row.runs,
        "finished": row.finished,
        "succeeded": row.succeeded,
        "success_rate": row.success_rate,
        "run_p50_s": row.run_p50_s,
        "run_p95_s": row.run_p95_s,
        "run_p99_s": row.run_p99_s,
        "step_p50_s": row.step_p50_s,
        "step_p95_s": row.step_p95_s,
        "step_p99_s": row.step_p99_s,
        "tokens": row.tokens,
        "cost_usd": str(row.cost_usd),
        "cost_per_run_usd": None if row.cost_per_run is None else str(row.cost_per_run),
        "top_errors": [{"error": text, "count": count} for text, count in row.top_errors],
    }


@main.command()
@click.option("--since", default="24h", show_default=True, help="a window: 30m, 24h, 7d")
@click.option("--agent", default=None, help="only this agent")
@click.option("--json", "as_json", is_flag=True, help="print the figures as JSON")
def stats(since: str, agent: str | None, as_json: bool) -> None:
    """Per-agent runs, success rate, latency percentiles, tokens, cost and top errors."""
    try:
        window = parse_since(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    settings = load_cli_settings()
    rows = agent_stats(open_journal(settings.journal_url), utcnow() - window, agent)
    if as_json:
        from orchestration.cli.output import echo_json

        echo_json({"since": since, "agents": [_document(row) for row in rows]})
        return
    if not rows:
        console.print(f"no runs in the last {since}")
        return
    console.print(stats_table(rows, since, console.width))
