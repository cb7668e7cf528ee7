"""The nightly eval: every agent with a dataset, evaluated and compared with its baseline.

Beat schedules it (``chordline.admin.nightly_eval`` on the admin queue, at
``CHORDLINE_NIGHTLY_EVAL_CRON``); ``chordline admin run nightly-eval`` runs it once by hand.
The cases run in the calling process (no broker), so the admin worker never takes capacity
from the agents' workers; the runs carry the admin tenant (``CHORDLINE_ADMIN_TENANT``) and the
eval is stored as an admin eval. A breach of the gate or a regression beyond
``CHORDLINE_EVAL_TOLERANCE`` against ``evals/<agent>/baseline.json`` is recorded on the eval and
logged as one line by the ``chordline.alerts`` logger.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import click

from admin_jobs.commands import as_json, echo_json, jobs
from orchestration.agents.registry import load_registry
from orchestration.bootstrap import open_runtime
from orchestration.config import CoreSettings, EvalSettings, Settings, current_settings
from orchestration.evals import store
from orchestration.evals.dataset import dataset_dir, dataset_hash
from orchestration.evals.gate import check_gate, load_baseline
from orchestration.evals.release import thresholds_of
from orchestration.evals.runner import EvalOptions, run_eval
from orchestration.journal import open_journal
from orchestration.observability.alerts import record_alert

__all__ = ["NightlyOutcome", "nightly_agents", "nightly_eval"]

log = logging.getLogger("chordline.admin")


@dataclass(frozen=True)
class NightlyOutcome:
    """One agent's nightly eval: its id, pass rates, and what regressed (None: nothing)."""

    agent: str
    eval_id: str
    pass_at_1: float
    pass_hat_k: float
    regression: str | None


def nightly_agents(settings: EvalSettings, core: CoreSettings) -> list[str]:
    """``CHORDLINE_NIGHTLY_EVAL_AGENTS``, or every agent (of ``core``'s folders) that has a
    dataset."""
    named = [a.strip() for a in settings.nightly_eval_agents.split(",") if a.strip()]
    if named:
        return named
    registry = load_registry(core.agent_dirs)
    return [n for n in registry.names() if dataset_hash(settings.evals_dir, n) is not None]


def nightly_eval(settings: Settings, agents: list[str] | None = None) -> list[NightlyOutcome]:
    """Evaluate each agent, store the eval, and raise an alert line on a regression.

    Args:
        settings: the settings.
        agents: the agents (default: :func:`nightly_agents`).

    Returns:
        One outcome per agent.
    """
    journal = open_journal(settings.journal_url)
    options = EvalOptions(
        k=settings.nightly_eval_k,
        concurrency=settings.eval_concurrency,
        mode="inprocess",
        admin=True,
    )
    outcomes = []
    for agent in agents if agents is not None else nightly_agents(settings.evals, settings.core):
        record = run_eval(open_runtime(settings), agent, options)
        path = dataset_dir(settings.evals_dir, agent) / "baseline.json"
        baseline = load_baseline(path) if path.is_file() else None
        breaches = check_gate(record, thresholds_of(settings.evals), baseline)
        regression = "; ".join(str(b) for b in breaches) or None
        record = dataclasses.replace(record, regression=regression)
        store.save(journal, record, store.output_dir(settings.evals, settings.data_dir))
        if regression is not None:
            # One alert record and its one log line on chordline.alerts (see record_alert).
            first = breaches[0]
            record_alert(
                journal,
                rule="eval_regression",
                subject=f"agent:{agent}",
                value=first.value if first.value is not None else 0.0,
                threshold=first.limit,
                message=f"nightly eval regression: agent={agent} eval={record.id} {regression}",
            )
        log.info(
            "nightly eval of %s: pass@1 %.3f, pass^%d %.3f (eval %s)",
            agent,
            record.overall.pass_at_1,
            record.k,
            record.overall.pass_hat_k,
            record.id,
        )
        outcomes.append(
            NightlyOutcome(
                agent, record.id, record.overall.pass_at_1, record.overall.pass_hat_k, regression
            )
        )
    return outcomes


@jobs.command("nightly-eval")
@click.option("--agent", "agents", multiple=True, help="only this agent (repeatable)")
@as_json
def nightly_eval_command(agents: tuple[str, ...], as_json: bool) -> None:
    """Run the nightly eval once: every agent with a dataset, against its baseline."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("chordline").setLevel(logging.INFO)
    outcomes = nightly_eval(current_settings(), list(agents) or None)
    if as_json:
        echo_json({"evals": [dataclasses.asdict(outcome) for outcome in outcomes]})
        return
    for outcome in outcomes:
        verdict = f"REGRESSION: {outcome.regression}" if outcome.regression else "ok"
        click.echo(
            f"{outcome.agent}: pass@1 {outcome.pass_at_1:.3f}, pass^k {outcome.pass_hat_k:.3f}, "
            f"eval {outcome.eval_id}: {verdict}"
        )
    if not outcomes:
        click.echo("no agent has an eval dataset; nothing to do")
