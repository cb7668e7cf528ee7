"""Running an agent's dataset: every case k times as real runs, a few at a time.

Each trial is a journaled run (tenant ``CHORDLINE_EVAL_TENANT``, or the admin tenant for admin
evals), driven on the workers when a broker is configured and in this process otherwise (see
:mod:`orchestration.evals._driver`). Its checks are read from the journal once it has ended.

Trial i > 1 of a case runs under the tenant ``<tenant>~<i>``. The LLM response cache is keyed
by tenant, so each trial keeps a sample of its own: the k trials of one eval stay independent
(pass^k measures consistency, which k copies of one answer would fake), while a repeated eval
of an unchanged agent replays trial i's answers for trial i and pays nothing.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from orchestration.errors import ConfigError, DatasetError
from orchestration.evals._checks import (
    JudgeFn,
    ToolUse,
    TrialFacts,
    evaluate_case,
    tool_scores,
)
from orchestration.evals._driver import Driver, InProcessDriver, WorkerDriver
from orchestration.evals._judge import make_judge
from orchestration.evals._metrics import summarise
from orchestration.evals.dataset import Case, Dataset, load_dataset
from orchestration.evals.results import EvalRecord, TrialOutcome
from orchestration.journal import Journal
from orchestration.journal.records import RunRecord
from orchestration.journal.tables import StepKind, utcnow
from orchestration.llm.deployments import resolve_chain
from orchestration.runtime import Runtime

if TYPE_CHECKING:
    from orchestration.client import Client

__all__ = ["EvalOptions", "Mode", "read_facts", "run_eval", "trial_tenant"]

Mode = Literal["auto", "workers", "inprocess"]


@dataclass(frozen=True)
class EvalOptions:
    """How to run an eval.

    Attributes:
        k: trials per case.
        concurrency: trials running at once.
        mode: ``workers`` (through the broker), ``inprocess`` (no broker), or ``auto``:
            workers when the caller passes a client and the broker is not the embedded one.
        admin: an admin eval (the nightly one): its runs carry the admin tenant.
        case_ids: only these cases (all when empty).
    """

    k: int = 1
    concurrency: int = 4
    mode: Mode = "auto"
    admin: bool = False
    case_ids: tuple[str, ...] = ()


def _arguments(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {"_raw": text}
    return value if isinstance(value, dict) else {"_raw": value}


def read_facts(journal: Journal, run: RunRecord) -> TrialFacts:
    """What a finished run did, as the checks read it."""
    steps = journal.steps(run.id)
    return TrialFacts(
        run_id=run.id,
        status=run.status.value,
        output=run.output or "",
        error=run.error,
        tools=tuple(
            ToolUse(s.name, _arguments(s.arguments), s.status.value)
            for s in steps
            if s.kind == StepKind.TOOL
        ),
        approvals=tuple(s.name for s in steps if s.kind == StepKind.APPROVAL),
    )


def trial_tenant(tenant: str, trial: int) -> str:
    """The tenant of trial ``trial`` (from 1): ``tenant``, then ``tenant~2``, ``tenant~3``..."""
    if trial == 1:
        return tenant
    suffix = f"~{trial}"
    return tenant[: 64 - len(suffix)] + suffix


def _driver(rt: Runtime, mode: Mode, client: Client | None) -> Driver:
    timeout = rt.settings.evals.eval_run_timeout_seconds
    if mode == "inprocess" or (mode == "auto" and (client is None or rt.settings.broker.embedded)):
        return InProcessDriver(rt, timeout)
    if client is None:
        raise ConfigError(
            "an eval in workers mode submits its trials through a client. Fix: pass "
            "client=Client(settings), or run it with mode inprocess."
        )
    client.ping_broker()
    return WorkerDriver(client, timeout)


def _trial(
    rt: Runtime,
    driver: Driver,
    dataset: Dataset,
    case: Case,
    trial: int,
    *,
    tenant: str,
    judge: JudgeFn | None,
) -> TrialOutcome:
    started = time.monotonic()
    run = driver.run(
        dataset.agent,
        case.input,
        tenant=trial_tenant(tenant, trial),
        approve=case.approval.decision == "approve",
    )
    latency = time.monotonic() - started
    facts = read_facts(rt.journal, run)
    checks = evaluate_case(case, facts, database_url=rt.journal.url, judge=judge)
    return TrialOutcome(
        case_id=case.id,
        category=case.category,
        trial=trial,
        run_id=run.id,
        passed=all(c.passed for c in checks),
        checks=checks,
        tools_called=tuple(t.name for t in facts.tools),
        tool_hits=tool_scores(case, facts),
        latency_s=round(latency, 4),
        tokens=run.input_tokens + run.output_tokens,
        cost_usd=None if run.cost_usd is None else float(run.cost_usd),
    )


def run_eval(
    rt: Runtime,
    agent_name: str,
    options: EvalOptions,
    *,
    on_trial: Callable[[TrialOutcome], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    client: Client | None = None,
) -> EvalRecord:
    """Run every case of ``agent_name``'s dataset ``options.k`` times.

    Args:
        rt: the runtime the trials run on (its settings: broker, evals directory, judge,
            tenants), opened by the caller.
        agent_name: the agent.
        options: trials, concurrency, mode, admin.
        on_trial: called with each finished trial (a progress bar).
        on_start: called once with the number of trials.
        client: submits the trials to the workers (workers mode, and auto on a broker that is
            not the embedded one); without one they run in this process.

    Returns:
        The eval (not yet stored).

    Raises:
        AgentNotFound: no such agent.
        DatasetError: its dataset is missing or invalid.
        BackendUnreachable: workers mode and the broker does not answer.
    """
    settings = rt.settings.evals
    # As the client does: a developer's SQLite file is brought up to date, a shared database
    # is migrated by `chordline db upgrade`.
    rt.journal.ensure_schema(upgrade=rt.journal.is_sqlite)
    agent = rt.registry.get(agent_name)
    dataset = load_dataset(settings.evals_dir, agent.name)
    unknown = sorted(set(options.case_ids) - {c.id for c in dataset.cases})
    if unknown:
        raise DatasetError(
            f"no case {', '.join(unknown)} in the {agent.name} dataset ({', '.join(dataset.files)}"
            "). Fix: pass ids of its cases, or no --case for all of them."
        )
    cases = [c for c in dataset.cases if not options.case_ids or c.id in options.case_ids]
    judge = make_judge(settings, rt.providers) if any(c.judge for c in cases) else None
    driver = _driver(rt, options.mode, client)
    tenant = settings.admin_tenant if options.admin else settings.eval_tenant
    jobs = [(case, trial) for case in cases for trial in range(1, options.k + 1)]
    if on_start is not None:
        on_start(len(jobs))
    outcomes: list[TrialOutcome] = []
    with ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="eval") as pool:
        futures = [
            pool.submit(_trial, rt, driver, dataset, case, n, tenant=tenant, judge=judge)
            for case, n in jobs
        ]
        for future in as_completed(futures):
            outcome = future.result()
            outcomes.append(outcome)
            if on_trial is not None:
                on_trial(outcome)
    outcomes.sort(key=lambda t: ([c.id for c in cases].index(t.case_id), t.trial))
    overall, by_category = summarise(outcomes, options.k)
    chain = resolve_chain(agent, rt.settings.llm)
    return EvalRecord(
        id=str(uuid.uuid4()),
        agent=agent.name,
        agent_version=agent.version,
        dataset_hash=dataset.hash,
        models={
            "model": chain[0].name,
            "fallbacks": ",".join(d.name for d in chain[1:]),
            "judge": settings.eval_judge_model,
        },
        k=options.k,
        tenant=tenant,
        admin=options.admin,
        overall=overall,
        by_category=by_category,
        trials=tuple(outcomes),
        created_at=utcnow(),
    )
