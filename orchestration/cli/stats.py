"""``chordline stats``: per-agent figures from the journal over a window."""

from __future__ import annotations

from decimal import Decimal

import click
from rich.table import Table

from orchestration.cli.base import console, load_cli_settings, main
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


def stats_table(rows: list[AgentStats], since: str) -> Table:
    """The stats as a table, one row per agent."""
    table = Table(title=f"runs created in the last {since}")
    for name in ("agent", "runs", "success", "run p50/p95/p99", "step p50/p95/p99", "tokens",
                 "cost/run", "top errors"):  # fmt: skip
        table.add_column(name, justify="left" if name in ("agent", "top errors") else "right")
    for row in rows:
        errors = "\n".join(f"{count}x {text}" for text, count in row.top_errors) or "-"
        table.add_row(
            row.agent,
            str(row.runs),
            _share(row.success_rate),
            " / ".join(_seconds(v) for v in (row.run_p50_s, row.run_p95_s, row.run_p99_s)),
            " / ".join(_seconds(v) for v in (row.step_p50_s, row.step_p95_s, row.step_p99_s)),
            str(row.tokens),
            _usd(row.cost_per_run),
            errors,
        )
    return table


@main.command()
@click.option("--since", default="24h", show_default=True, help="a window: 30m, 24h, 7d")
@click.option("--agent", default=None, help="only this agent")
def stats(since: str, agent: str | None) -> None:
    """Per-agent runs, success rate, latency percentiles, tokens, cost and top errors."""
    try:
        window = parse_since(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    settings = load_cli_settings()
    rows = agent_stats(open_journal(settings.journal_url).engine, utcnow() - window, agent)
    if not rows:
        console.print(f"no runs in the last {since}")
        return
    console.print(stats_table(rows, since))
