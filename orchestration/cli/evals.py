"""Evals and releases: `eval run|gate|baseline` and `release`."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import RenderableType
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from orchestration.cli.base import console, errors, load_cli_settings, main
from orchestration.cli.tables import Column, fitted
from orchestration.config import Settings
from orchestration.errors import EvalError
from orchestration.evals.results import EvalRecord, TrialOutcome
from orchestration.journal import Journal, open_journal

if TYPE_CHECKING:
    from orchestration.evals.gate import Breach

__all__ = ["eval_group", "release"]


def _journal(settings: Settings) -> Journal:
    journal = open_journal(settings.journal_url)
    journal.ping()
    journal.ensure_schema(upgrade=journal.is_sqlite)
    return journal


def _summary(record: EvalRecord) -> RenderableType:
    from orchestration.evals.report import METRIC_COLUMNS, metric_row

    columns = [Column("category")]
    columns += [Column(c.replace("^k", f"^{record.k}"), right=True) for c in METRIC_COLUMNS]
    rows = [[escape(name), *metric_row(metrics)] for name, metrics in record.by_category.items()]
    rows.append(["[bold]all[/]", *metric_row(record.overall)])
    return fitted(
        columns,
        rows,
        console.width,
        title=f"{record.agent} {record.agent_version[:12]}: k={record.k}, "
        f"{record.overall.cases} cases, {record.overall.trials} trials",
    )


_as_json = click.option(
    "--json", "as_json", is_flag=True, help="print one JSON document on stdout, nothing else"
)


@main.group("eval")
def eval_group() -> None:
    """Evaluate agents on their datasets (evals/AGENT/*.jsonl); gates and baselines."""


@eval_group.command("run")
@click.argument("agent")
@click.option(
    "-k",
    "k",
    type=click.IntRange(1, 50),
    default=1,
    show_default=True,
    help="trials per case (pass^k)",
)
@click.option(
    "-c",
    "--concurrency",
    type=click.IntRange(1, 64),
    default=None,
    help="trials at once [default: CHORDLINE_EVAL_CONCURRENCY]",
)
@click.option(
    "--mode",
    type=click.Choice(["auto", "workers", "inprocess"]),
    default="auto",
    show_default=True,
    help="workers (through the broker) or in this process",
)
@click.option("--case", "case_ids", multiple=True, help="only this case id (repeatable)")
@click.option(
    "--cache/--no-cache",
    default=True,
    show_default=True,
    help="answer repeated identical LLM requests from the response cache (in-process trials; "
    "workers follow their own CHORDLINE_LLM_CACHE)",
)
@_as_json
def eval_run(
    *,
    agent: str,
    k: int,
    concurrency: int | None,
    mode: str,
    case_ids: tuple[str, ...],
    cache: bool,
    as_json: bool,
) -> None:
    """Run AGENT's dataset k times per case as real runs; store and print the result."""
    from orchestration.bootstrap import open_runtime
    from orchestration.client import Client
    from orchestration.evals import store
    from orchestration.evals.runner import EvalOptions, Mode, run_eval

    settings = load_cli_settings().model_copy(update={"llm_cache": cache})
    journal = _journal(settings)
    chosen: Mode = (
        "workers" if mode == "workers" else "inprocess" if mode == "inprocess" else "auto"
    )
    options = EvalOptions(
        k=k,
        concurrency=concurrency or settings.eval_concurrency,
        mode=chosen,
        case_ids=case_ids,
    )
    # Trials go through the workers unless asked to run here (auto: unless the broker is the
    # embedded one, which the runner decides).
    client = Client(settings) if chosen != "inprocess" else None
    rt = client.runtime if client is not None else open_runtime(settings)
    columns = (
        TextColumn("[bold]eval {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[green]{task.fields[passed]} passed[/] [red]{task.fields[failed]} failed[/]"),
        TimeElapsedColumn(),
    )
    # With --json the progress goes to stderr: stdout holds the document alone.
    with Progress(*columns, console=errors if as_json else console) as progress:
        task = progress.add_task(agent, total=None, passed=0, failed=0)
        counts = {"passed": 0, "failed": 0}

        def on_trial(trial: TrialOutcome) -> None:
            counts["passed" if trial.passed else "failed"] += 1
            progress.update(task, advance=1, passed=counts["passed"], failed=counts["failed"])

        record = run_eval(
            rt,
            agent,
            options,
            on_trial=on_trial,
            on_start=lambda total: progress.update(task, total=total),
            client=client,
        )
    json_path, md_path = store.save(
        journal, record, store.output_dir(settings.evals, settings.data_dir)
    )
    if as_json:
        from orchestration.cli.output import echo_json

        echo_json(
            {"eval": record.to_json(), "json_file": str(json_path), "markdown_file": str(md_path)}
        )
        return
    console.print(_summary(record))
    failing = [t for t in record.trials if not t.passed]
    for trial in failing:
        # The run id on a line of its own, whole, so a narrow log never breaks it in two.
        console.print(f"[red]FAIL[/] {escape(trial.case_id)} (trial {trial.trial})")
        console.print(f"     chordline status {trial.run_id}", highlight=False, markup=False)
        for check in trial.failed_checks:
            console.print(
                f"     {check.check}: expected {check.expected!r}, got {check.actual!r}",
                highlight=False,
                markup=False,
            )
    console.print(f"stored eval {record.id}; {json_path} and {md_path}", highlight=False)


@eval_group.command("gate")
@click.argument("agent")
@click.option(
    "--min-pass-rate",
    type=click.FloatRange(0, 1),
    default=None,
    help="lowest pass@1 [default: CHORDLINE_EVAL_MIN_PASS_RATE]",
)
@click.option(
    "--max-p95-latency-s",
    type=click.FloatRange(min=0),
    default=None,
    help="highest p95 latency [default: CHORDLINE_EVAL_MAX_P95_LATENCY_S]",
)
@click.option(
    "--max-cost-per-case",
    type=click.FloatRange(min=0),
    default=None,
    help="highest $ per case [default: CHORDLINE_EVAL_MAX_COST_PER_CASE]",
)
@click.option(
    "--baseline",
    "baseline_path",
    type=click.Path(path_type=Path),
    default=None,
    help="baseline file [default: evals/AGENT/baseline.json when it exists]",
)
@click.option(
    "--tolerance",
    type=click.FloatRange(0, 1),
    default=None,
    help="allowed fall below the baseline [default: CHORDLINE_EVAL_TOLERANCE]",
)
@_as_json
def eval_gate(
    agent: str,
    *,
    min_pass_rate: float | None,
    max_p95_latency_s: float | None,
    max_cost_per_case: float | None,
    baseline_path: Path | None,
    tolerance: float | None,
    as_json: bool,
) -> None:
    """Exit 1 when AGENT's latest eval breaks a threshold or regressed from the baseline."""
    from dataclasses import replace

    from orchestration.agents.registry import load_registry
    from orchestration.evals import store
    from orchestration.evals.dataset import dataset_dir
    from orchestration.evals.gate import check_gate, load_baseline
    from orchestration.evals.release import thresholds_of

    settings = load_cli_settings()
    current = load_registry(settings.agent_dirs).get(agent)
    record = store.latest(_journal(settings), current.name)
    if record is None:
        raise EvalError(f"no eval of {agent} is stored. Fix: `chordline eval run {agent}`.")
    defaults = thresholds_of(settings.evals)
    thresholds = replace(
        defaults,
        min_pass_rate=defaults.min_pass_rate if min_pass_rate is None else min_pass_rate,
        max_p95_latency_s=max_p95_latency_s or defaults.max_p95_latency_s,
        max_cost_per_case=(
            defaults.max_cost_per_case if max_cost_per_case is None else max_cost_per_case
        ),
        tolerance=defaults.tolerance if tolerance is None else tolerance,
    )
    path = baseline_path or dataset_dir(settings.evals_dir, current.name) / "baseline.json"
    baseline = load_baseline(path) if baseline_path is not None or path.is_file() else None
    stale = record.agent_version != current.version
    breaches = [] if stale else check_gate(record, thresholds, baseline)
    if as_json:
        from orchestration.cli.output import echo_json

        echo_json(_gate_document(record, current.version, breaches))
        sys.exit(1 if stale or breaches else 0)
    console.print(_summary(record))
    if stale:
        errors.print(
            f"[red]gate failed:[/] the latest eval ({record.id[:8]}) is of version "
            f"{record.agent_version[:12]}, {agent} is now {current.version[:12]}. "
            f"Fix: `chordline eval run {agent}`.",
            highlight=False,
        )
        sys.exit(1)
    if not breaches:
        against = f" and baseline {path}" if baseline is not None else ""
        console.print(f"[green]gate passed[/] (eval {record.id[:8]}{against})", highlight=False)
        return
    columns = (
        Column("metric"),
        Column("value", right=True),
        Column("limit", right=True),
        Column("delta", right=True),
        Column("why", prose=True),
    )
    rows = [
        [
            escape(b.metric),
            "unknown" if b.value is None else f"{b.value:.4g}",
            f"{b.limit:.4g}",
            f"{b.delta:+.4g}",
            escape(b.reason),
        ]
        for b in breaches
    ]
    title = f"gate failed: {agent}"
    console.print(fitted(columns, rows, console.width, title=title, style="bold red"))
    for breach in breaches:
        errors.print(f"gate failed: {breach}", highlight=False, soft_wrap=True, markup=False)
    sys.exit(1)


def _gate_document(record: EvalRecord, version: str, breaches: list[Breach]) -> dict[str, Any]:
    """``eval gate --json``: the eval judged, whether it passed, and each breach."""
    stale = record.agent_version != version
    return {
        "agent": record.agent,
        "eval_id": record.id,
        "eval_version": record.agent_version,
        "agent_version": version,
        "passed": not stale and not breaches,
        "stale": stale,
        "metrics": record.metrics_json(),
        "breaches": [dataclasses.asdict(b) for b in breaches],
    }


@eval_group.command("baseline")
@click.argument("agent")
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="where to write [default: evals/AGENT/baseline.json]",
)
def eval_baseline(agent: str, output: Path | None) -> None:
    """Write AGENT's baseline from its latest stored eval."""
    from orchestration.evals import store
    from orchestration.evals.dataset import dataset_dir
    from orchestration.evals.gate import baseline_json

    settings = load_cli_settings()
    record = store.latest(_journal(settings), agent)
    if record is None:
        raise EvalError(f"no eval of {agent} is stored. Fix: `chordline eval run {agent}`.")
    target = output or dataset_dir(settings.evals_dir, agent) / "baseline.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(baseline_json(record), indent=2) + "\n", encoding="utf-8")
    console.print(f"wrote {target} from eval {record.id}", highlight=False)


@main.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path),
    default=None,
    help="where release files go [default: CHORDLINE_RELEASES_DIR]",
)
@click.option("--json", "as_json", is_flag=True, help="print the release record as JSON")
def release(directory: Path | None, as_json: bool) -> None:
    """Write a release record (commit, lock hash, agents' versions and eval figures)."""
    from orchestration.agents.registry import load_registry
    from orchestration.evals import release as releases

    settings = load_cli_settings()
    journal = _journal(settings)
    registry = load_registry(settings.agent_dirs)
    record = releases.prepare_release(
        journal, registry, settings.evals, settings.llm, root=Path.cwd()
    )
    path = releases.write(journal, record, directory or settings.releases_dir)
    if as_json:
        from orchestration.cli.output import echo_json

        echo_json({**record.to_json(), "file": str(path)})
        return
    columns = [Column(c) for c in ("agent", "version", "eval")]
    columns += [Column(c, right=True) for c in ("pass@1", "pass^k", "$/case")]
    rows = []
    for name, entry in record.agents.items():
        metrics = entry["metrics"]
        cost = metrics.get("cost_per_case")
        rows.append(
            [
                name,
                entry["version"][:12],
                entry["eval_id"][:8],
                f"{metrics['pass_at_1']:.3f}",
                f"{metrics['pass_hat_k']:.3f}",
                "-" if cost is None else f"{cost:.4f}",
            ]
        )
    title = f"release {record.id[:8]} at {record.git_commit[:12]}"
    console.print(fitted(columns, rows, console.width, title=title))
    console.print(f"lock {record.lock_hash[:16]}", highlight=False)
    # A path is not folded: it stays whole on its own line, to be copied.
    console.print(f"wrote {path}", highlight=False, soft_wrap=True)
