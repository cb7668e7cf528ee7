"""The eval as Markdown: the metrics table by category, then each failing trial's checks."""

from __future__ import annotations

from orchestration.evals.results import EvalRecord, Metrics

__all__ = ["METRIC_COLUMNS", "format_metric", "markdown", "metric_row"]

METRIC_COLUMNS = (
    "cases",
    "pass@1",
    "pass^k",
    "tool P",
    "tool R",
    "p50 s",
    "p95 s",
    "tokens",
    "$/case",
)


def format_metric(value: float | int | None, digits: int = 3) -> str:
    """A figure for a table: ``-`` when unknown."""
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def metric_row(metrics: Metrics) -> list[str]:
    """One table row of :data:`METRIC_COLUMNS`."""
    return [
        format_metric(metrics.cases),
        format_metric(metrics.pass_at_1),
        format_metric(metrics.pass_hat_k),
        format_metric(metrics.tool_precision),
        format_metric(metrics.tool_recall),
        format_metric(metrics.latency_p50_s, 2),
        format_metric(metrics.latency_p95_s, 2),
        format_metric(metrics.tokens_per_case, 0),
        format_metric(metrics.cost_per_case, 4),
    ]


def markdown(record: EvalRecord) -> str:
    """The eval as a Markdown document."""
    columns = ["category", *METRIC_COLUMNS]
    lines = [
        f"# Eval of {record.agent} ({record.created_at.isoformat(timespec='seconds')})",
        "",
        f"- eval id: `{record.id}`",
        f"- agent version: `{record.agent_version}`",
        f"- dataset hash: `{record.dataset_hash}`",
        f"- models: {', '.join(f'{k}={v}' for k, v in record.models.items() if v)}",
        f"- k = {record.k} trials per case, tenant `{record.tenant}`"
        + (" (admin)" if record.admin else ""),
        "",
        "| " + " | ".join(columns).replace("^k", f"^{record.k}") + " |",
        "|---" + "|---:" * len(METRIC_COLUMNS) + "|",
    ]
    for name, metrics in [*record.by_category.items(), ("**all**", record.overall)]:
        lines.append("| " + " | ".join([name, *metric_row(metrics)]) + " |")
    failing = [t for t in record.trials if not t.passed]
    if record.regression:
        lines += ["", f"**Regression against the baseline:** {record.regression}"]
    lines += ["", f"## Failing trials ({len(failing)})", ""]
    for trial in failing:
        lines.append(f"- `{trial.case_id}` trial {trial.trial}, run `{trial.run_id}`")
        for check in trial.failed_checks:
            lines.append(f"  - {check.check}: expected `{check.expected}`, got `{check.actual}`")
    return "\n".join(lines) + "\n"
