"""Export an agent's good runs as fine-tuning data: ``chordline admin run finetune-export``."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console

from admin_jobs.commands import as_json, echo_json, jobs
from orchestration.config import CoreSettings, Settings, load_settings
from orchestration.journal import open_journal
from orchestration.knowledge.finetune_data import ExportReport, export_examples

__all__ = ["default_path", "describe", "finetune_export"]


def default_path(settings: CoreSettings, agent: str) -> Path:
    """``<data dir>/finetune/<agent>-<UTC time>.jsonl``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return settings.data_dir / "finetune" / f"{agent}-{stamp}.jsonl"


def finetune_export(settings: Settings, agent: str, path: Path | None = None) -> ExportReport:
    """Write ``agent``'s good runs, redacted, as chat-format JSONL (see ``finetune_data``)."""
    journal = open_journal(settings.journal_url)
    target = path or default_path(settings.core, agent)
    return export_examples(settings.knowledge, settings.agent_dirs, journal, agent, target)


def describe(report: ExportReport) -> str:
    """The data report: examples, tokens, estimated cost, what was left out."""
    cost = (
        "unknown (no training price)"
        if report.estimated_usd is None
        else f"${report.estimated_usd} for {report.epochs} epochs on {report.base_model}"
    )
    reasons: dict[str, int] = {}
    for _, reason in report.excluded:
        reasons[reason] = reasons.get(reason, 0) + 1
    left_out = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items())) or "none"
    return (
        f"{report.path}\n  examples: {report.examples}\n  tokens: {report.tokens}\n"
        f"  estimated cost: {cost}\n  left out: {left_out}\n"
        "  redacted: e-mail addresses, phone numbers, card numbers"
    )


@jobs.command("finetune-export")
@click.option("--agent", required=True, help="the agent whose runs to export")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="the JSONL file")
@as_json
def finetune_export_command(agent: str, out: Path | None, as_json: bool) -> None:
    """Export AGENT's successful runs as redacted chat-format JSONL with a data report."""
    report = finetune_export(load_settings(), agent, out)
    if as_json:
        echo_json(dataclasses.asdict(report))
        return
    Console().print(describe(report), highlight=False)
