"""Canary rollouts: `rollout start`, `check`, `status` and `stop`."""

from __future__ import annotations

from typing import Any

import click
from rich.console import RenderableType
from rich.markup import escape

from orchestration.cli.base import console, load_cli_settings, main
from orchestration.cli.tables import Column, fitted
from orchestration.config import Settings
from orchestration.journal import Journal, open_journal
from orchestration.rollouts.metrics import ArmMetrics, StageMetrics
from orchestration.rollouts.plan import (
    RolloutPlan,
    RolloutRecord,
    RolloutStatus,
    Sticky,
    Thresholds,
    parse_duration,
    parse_steps,
)

__all__ = ["rollout"]


def _journal(settings: Settings) -> Journal:
    journal = open_journal(settings.journal_url)
    # The embedded SQLite journal migrates itself; a server's is migrated by `chordline db upgrade`.
    journal.ensure_schema(upgrade=journal.is_sqlite)
    return journal


@main.group()
def rollout() -> None:
    """Roll an agent's variant out to a rising share of new runs, with automatic rollback."""


@rollout.command()
@click.argument("agent")
@click.option("--variant", required=True, help="The variant to roll out (defined in agent.py).")
@click.option(
    "--steps",
    default="1,5,25,50,100",
    show_default=True,
    help="Percentages of new runs, stage by stage.",
)
@click.option(
    "--min-runs",
    default=50,
    show_default=True,
    type=int,
    help="Finished runs on each side a stage needs before a decision.",
)
@click.option(
    "--dwell",
    default="10m",
    show_default=True,
    help="How long a healthy stage lasts (90s, 10m, 2h).",
)
@click.option(
    "--sticky",
    type=click.Choice([s.value for s in Sticky]),
    default="session",
    show_default=True,
    help="What keeps a caller on one side.",
)
@click.option(
    "--max-success-drop",
    default=0.05,
    show_default=True,
    type=float,
    help="Success-rate points (0..1) the variant may lose.",
)
@click.option(
    "--max-p95-ratio",
    default=1.5,
    show_default=True,
    type=float,
    help="Variant p95 latency over stable's.",
)
@click.option(
    "--max-cost-ratio",
    default=1.5,
    show_default=True,
    type=float,
    help="Variant cost per run over stable's.",
)
@click.option(
    "--max-eval-drop",
    default=0.05,
    show_default=True,
    type=float,
    help="Eval pass-rate points (0..1) the variant may lose.",
)
def start(
    *,
    agent: str,
    variant: str,
    steps: str,
    min_runs: int,
    dwell: str,
    sticky: str,
    max_success_drop: float,
    max_p95_ratio: float,
    max_cost_ratio: float,
    max_eval_drop: float,
) -> None:
    """Start routing the first step's share of AGENT's new runs to its variant."""
    from orchestration.agents import load_registry
    from orchestration.llm.deployments import resolve_chain
    from orchestration.rollouts.check import start as start_rollout

    settings = load_cli_settings()
    plan = RolloutPlan(
        agent=agent,
        variant=variant,
        steps=parse_steps(steps),
        min_runs=min_runs,
        dwell_seconds=parse_duration(dwell),
        sticky=Sticky(sticky),
        thresholds=Thresholds(max_success_drop, max_p95_ratio, max_cost_ratio, max_eval_drop),
    )
    definition = load_registry(settings.agent_dirs).get(agent)
    resolve_chain(definition.get_variant(variant), settings)  # refuses floating aliases
    record = start_rollout(_journal(settings), definition, plan)
    console.print(
        f"rollout {record.id}: {agent}:{variant} (version {record.variant_version}) gets "
        f"{record.percent}% of new runs; steps {','.join(map(str, record.steps))}"
    )


@rollout.command()
@click.argument("agent")
def check(agent: str) -> None:
    """Check AGENT's active rollout once: roll back, advance or hold, and say why."""
    from orchestration.rollouts.check import check_rollout

    settings = load_cli_settings()
    result = check_rollout(settings.rollouts, _journal(settings), agent)
    console.print(_comparison(result.rollout, result.metrics))
    console.print(f"{result.decision.kind}: {result.decision.reason}", highlight=False)


@rollout.command()
@click.argument("agent")
@click.option("--json", "as_json", is_flag=True, help="print the rollout and its events as JSON")
def status(agent: str, as_json: bool) -> None:
    """Show AGENT's newest rollout: both sides compared, and what happened to it."""
    from orchestration.errors import RolloutError
    from orchestration.journal.tables import utcnow
    from orchestration.rollouts import store
    from orchestration.rollouts.check import measure
    from orchestration.rollouts.decision import decide

    settings = load_cli_settings()
    journal = _journal(settings)
    record = store.latest_rollout(journal, agent)
    if record is None:
        raise RolloutError(
            f"{agent} has no rollout. Fix: `chordline rollout start {agent} --variant NAME`."
        )
    metrics = measure(journal, record)
    now = None
    if record.status == RolloutStatus.ACTIVE:
        disabled = (agent, record.variant) in settings.disabled_variant_pairs
        now = decide(record, metrics, utcnow(), disabled=disabled)
    events = store.events(journal, record.id)
    if as_json:
        from orchestration.cli.output import echo_json

        listed = [
            {
                "at": e.at.isoformat(),
                "kind": e.kind,
                "stage": e.stage,
                "percent": e.percent,
                "reason": e.reason,
                "alert": e.alert,
            }
            for e in events
        ]
        echo_json(
            {
                "rollout": _rollout_document(record),
                "metrics": metrics.to_json(),
                "check_now": None if now is None else {"decision": now.kind, "reason": now.reason},
                "events": listed,
            }
        )
        return
    console.print(_comparison(record, metrics))
    if now is not None:
        console.print(f"a check now would {now.kind}: {now.reason}", highlight=False)
    rows = [
        [
            f"{e.at:%Y-%m-%d %H:%M:%S}",
            f"[bold red]{e.kind} (alert)[/]" if e.alert else e.kind,
            f"{e.percent}%",
            escape(e.reason),
        ]
        for e in events
    ]
    columns = (
        Column("at"),
        Column("event"),
        Column("stage", right=True),
        Column("reason", prose=True),
    )
    console.print(fitted(columns, rows, console.width, title="Events, newest first"))


def _rollout_document(record: RolloutRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "agent": record.agent,
        "variant": record.variant,
        "variant_version": record.variant_version,
        "status": record.status.value,
        "steps": list(record.steps),
        "stage": record.stage,
        "percent": record.percent,
        "min_runs": record.min_runs,
        "dwell_seconds": record.dwell_seconds,
        "sticky": record.sticky.value,
        "thresholds": record.thresholds.to_json(),
        "reason": record.reason,
        "stage_started_at": record.stage_started_at.isoformat(),
        "created_at": record.created_at.isoformat(),
    }


@rollout.command()
@click.argument("agent")
@click.option("--reason", default="stopped by hand", show_default=True)
def stop(agent: str, reason: str) -> None:
    """Stop AGENT's active rollout: its variant gets no new runs from now on."""
    from orchestration.rollouts.check import stop as stop_rollout

    record = stop_rollout(_journal(load_cli_settings()), agent, reason)
    console.print(f"rollout {record.id} of {agent}:{record.variant} stopped: {reason}")


def _comparison(record: RolloutRecord, metrics: StageMetrics) -> RenderableType:
    limits = record.thresholds
    title = (
        f"{record.agent}:{record.variant} rollout {record.id[:8]}: {record.status.value} at "
        f"{record.percent}% (stage {record.stage + 1} of {len(record.steps)}: "
        f"{','.join(map(str, record.steps))}); {record.reason or ''}"
    )
    columns = [Column("side"), Column("version")]
    columns += [
        Column(c, right=True)
        for c in ("runs", "finished", "success", "p95 latency", "cost / run", "eval pass")
    ]

    def row(arm: ArmMetrics) -> list[str]:
        return [
            escape(arm.variant),
            # The first 8 characters of the content hash, as every short id here.
            (arm.version or "-")[:8],
            str(arm.runs),
            str(arm.finished),
            "-" if arm.success_rate is None else f"{arm.success_rate:.1%}",
            "-" if arm.p95_latency_s is None else f"{arm.p95_latency_s:.2f}s",
            "unknown" if arm.cost_per_run is None else f"${arm.cost_per_run:.6f}",
            "-" if arm.eval_pass_rate is None else f"{arm.eval_pass_rate:.1%}",
        ]

    caption = (
        f"rolls back when: success drops > {limits.max_success_drop:.1%}, p95 > "
        f"{limits.max_p95_ratio:g}x, cost > {limits.max_cost_ratio:g}x, eval drops > "
        f"{limits.max_eval_drop:.1%}; decides after {record.min_runs} finished runs a side, "
        f"advances after {record.dwell_seconds}s"
    )
    rows = [row(metrics.stable), row(metrics.variant)]
    return fitted(columns, rows, console.width, title=title, caption=caption)
