"""The eval harness's parts: datasets, checks, the offline judge, pass^k, gates and baselines,
and evals run in process against real journals."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from beat_schedule import schedule
from orchestration.bootstrap import open_runtime
from orchestration.config import Settings, current_settings, load_settings
from orchestration.errors import ConfigError, DatasetError
from orchestration.evals import store
from orchestration.evals._checks import ToolUse, TrialFacts, evaluate_case
from orchestration.evals._judge import JUDGE_SYSTEM, make_judge, offline_score
from orchestration.evals._metrics import pass_hat_k, percentile
from orchestration.evals.dataset import Case, load_dataset
from orchestration.evals.gate import GateThresholds, baseline_json, check_gate, load_baseline
from orchestration.evals.runner import EvalOptions, run_eval
from orchestration.journal import Journal
from orchestration.llm.providers import ModelReply, ProviderPool
from tests.conftest import AGENT_DIRS
from tests.llm_server import FakeLLM
from tests.support import ROOT


def _write(folder: Path, lines: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cases.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


# -- datasets --------------------------------------------------------------------------------


def test_the_shipped_datasets_load_with_twenty_cases_or_more() -> None:
    for agent in ("support-triage", "research-report"):
        dataset = load_dataset(ROOT / "evals", agent)
        assert len(dataset.cases) >= 20
        assert len(dataset.hash) == 64
        categories = {c.category for c in dataset.cases}
        assert "adversarial" in categories
    triage = load_dataset(ROOT / "evals", "support-triage")
    assert sum(c.category == "must-fail" for c in triage.cases) >= 2


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "cases.jsonl:2: not JSON"),
        ('{"id": "x"}', "cases.jsonl:2: invalid case: field input: Field required"),
        ('{"id": "x", "input": "hi", "colour": 1}', "field colour: Extra inputs"),
        (
            '{"id": "x", "input": "hi", "tools": {"args": {"t": {"a": {}}}}}',
            "field tools.args.t.a: an argument matcher sets exactly one",
        ),
        ('{"id": "ok", "input": "again"}', "case id 'ok' is already used at cases.jsonl:1"),
    ],
)
def test_a_bad_case_names_file_line_and_field(tmp_path: Path, line: str, message: str) -> None:
    _write(tmp_path / "agent", ['{"id": "ok", "input": "hello"}', line])
    with pytest.raises(DatasetError) as caught:
        load_dataset(tmp_path, "agent")
    assert message in str(caught.value)
    assert str(tmp_path / "agent" / "cases.jsonl") in str(caught.value)


def test_a_missing_dataset_says_where_to_put_it(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"no eval dataset for ghost: .*Fix: add cases"):
        load_dataset(tmp_path, "ghost")


# -- checks, judge, metrics ------------------------------------------------------------------


def _facts(output: str, *tools: tuple[str, dict[str, object]]) -> TrialFacts:
    uses = tuple(ToolUse(name, dict(args), "succeeded") for name, args in tools)
    return TrialFacts("run-1", "succeeded", output, None, uses, ("issue_refund",))


def test_checks_report_expected_against_actual(tmp_path: Path) -> None:
    case = Case.model_validate(
        {
            "id": "c",
            "input": "x",
            "tools": {
                "expected": ["lookup_orders", "issue_refund"],
                "order": "sequence",
                "forbidden": ["search_kb"],
                "args": {"issue_refund": {"amount_usd": {"approx": 100, "tolerance": 0.5}}},
            },
            "output": {
                "contains": ["refund"],
                "not_contains": ["sorry"],
                "regex": [r"ORD-\d{4}"],
                "json_schema": {"type": "object", "required": ["total"]},
                "number": [{"regex": r"\$([0-9.]+)", "value": 100.2, "tolerance": 0.5}],
            },
            "approval": {"required": ["issue_refund"]},
        }
    )
    facts = _facts(
        '{"refund": "ORD-1042", "note": "$100.4"}',
        ("issue_refund", {"amount_usd": 100.3}),
        ("lookup_orders", {}),
    )
    results = {r.check: r for r in evaluate_case(case, facts, database_url="", judge=None)}
    assert not results["tools.sequence"].passed  # issue_refund came first
    assert results["tools.forbidden"].passed
    assert results["tools.args issue_refund.amount_usd"].passed
    assert results["output.contains"].passed and results["output.not_contains"].passed
    assert results["output.regex"].passed
    schema = results["output.json_schema"]
    assert not schema.passed and "'total' is a required property" in schema.actual
    assert results[r"output.number /\$([0-9.]+)/"].passed
    assert results["approval issue_refund"].passed
    assert results["status"].passed


def test_final_state_checks_query_the_runs_database(journal: Journal) -> None:
    case = Case.model_validate(
        {
            "id": "s",
            "input": "x",
            "state": [
                {"query": "SELECT count(*) FROM runs WHERE id = :run_id", "expect": [[0]]},
                {"query": "SELECT count(*) FROM no_such_table", "expect": [[0]]},
            ],
        }
    )
    first, broken = evaluate_case(case, _facts("ok"), database_url=journal.url, judge=None)[1:]
    assert first.passed and first.actual == "[[0]]"
    assert not broken.passed and broken.actual.startswith("query failed:")


def test_the_offline_judge_is_deterministic_and_names_what_it_missed() -> None:
    rubric = 'states the refund of $1249.00 for ORD-1042; quotes "KB-101"; is polite and short'
    answer = "Refund of $1249.00 for ORD-1042 issued (KB-101). Polite and short."
    assert offline_score(answer, rubric) == (1.0, "met 3/3 criteria")
    score, reason = offline_score("Refund of $99.00 for ORD-1042 issued.", rubric)
    assert math.isclose(score, 0.0) and "missed: states the refund of $1249.00" in reason


def test_pass_hat_k_is_tau_bench_s() -> None:
    assert pass_hat_k(3, 3, 3) == 1.0
    assert pass_hat_k(2, 3, 3) == 0.0
    assert math.isclose(pass_hat_k(2, 4, 2), 1 / 6)  # C(2,2) / C(4,2)
    assert pass_hat_k(4, 4, 1) == 1.0
    with pytest.raises(ValueError, match="k=5"):
        pass_hat_k(1, 3, 5)
    assert percentile([1, 2, 3, 4], 0.5) == 2.5
    assert percentile([], 0.95) == 0.0


# -- evals in process --------------------------------------------------------------------------


@pytest.fixture
def eval_settings(journal: Journal, tmp_path: Path) -> Settings:
    evals = tmp_path / "evals"
    _write(
        evals / "research-report",
        [
            json.dumps(
                {
                    "id": "heat-pumps",
                    "category": "energy",
                    "input": "Research report: heat pumps in cold climates",
                    "tools": {"expected": ["search_papers", "search_news", "search_notes"]},
                    "output": {"contains": ["Energy & Buildings 2024"]},
                    "judge": {"rubric": 'cites "Energy & Buildings 2024"', "min_score": 1},
                }
            ),
            json.dumps(
                {
                    "id": "wrong-expectation",
                    "category": "edge",
                    "input": "Research report: sodium-ion batteries",
                    "tools": {"expected": ["search_papers", "search_web"]},
                    "output": {"contains": ["Nature Energy 2025"], "not_contains": ["Nature"]},
                }
            ),
        ],
    )
    return load_settings(
        database_url=journal.url,
        agents_dir=AGENT_DIRS,
        data_dir=tmp_path / "data",
        evals_dir=evals,
    )


def test_an_eval_runs_k_trials_as_real_runs_and_is_stored(
    eval_settings: Settings, journal: Journal
) -> None:
    seen: list[str] = []
    options = EvalOptions(k=3, concurrency=3, mode="inprocess")
    record = run_eval(
        open_runtime(eval_settings),
        "research-report",
        options,
        on_trial=lambda t: seen.append(t.run_id),
    )
    assert len(seen) == 6 and len(set(seen)) == 6
    assert record.overall.cases == 2 and record.overall.trials == 6
    assert record.overall.pass_at_1 == 0.5 and record.overall.pass_hat_k == 0.5
    assert record.by_category["energy"].pass_hat_k == 1.0
    assert record.by_category["edge"].pass_at_1 == 0.0
    # Per pair of trials: 3 + 1 tools both expected and called, of 3 + 3 called, 3 + 2 expected.
    assert record.overall.tool_precision == pytest.approx(4 / 6)
    assert record.overall.tool_recall == pytest.approx(4 / 5)
    failing = next(t for t in record.trials if t.case_id == "wrong-expectation")
    assert journal.get_run(failing.run_id).tenant == "evals"
    shown = {c.check: c for c in failing.failed_checks}
    assert shown["tools.set"].expected == '["search_papers", "search_web"]'
    assert "search_notes" in shown["tools.set"].actual
    assert shown["output.not_contains"].expected == "not 'Nature'"
    json_path, md_path = store.save(
        journal, record, store.output_dir(eval_settings.evals, eval_settings.data_dir)
    )
    latest = store.latest(journal, "research-report")
    assert latest is not None and latest.id == record.id
    assert latest.overall == record.overall and latest.trials == record.trials
    assert json.loads(json_path.read_text())["metrics"]["overall"]["pass_hat_k"] == 0.5
    markdown = md_path.read_text()
    assert "| **all** | 2 | 0.500 | 0.500 |" in markdown
    assert f"run `{failing.run_id}`" in markdown


def test_the_gate_names_the_metric_and_the_delta(
    eval_settings: Settings, journal: Journal, tmp_path: Path
) -> None:
    record = run_eval(
        open_runtime(eval_settings), "research-report", EvalOptions(k=1, mode="inprocess")
    )
    path = tmp_path / "baseline.json"
    data = baseline_json(record)
    data["metrics"]["overall"]["pass_at_1"] = 0.9
    data["metrics"]["by_category"]["energy"]["tool_recall"] = 1.0
    path.write_text(json.dumps(data))
    baseline = load_baseline(path)
    assert check_gate(record, GateThresholds(tolerance=0.05), load_baseline(path))
    breaches = check_gate(record, GateThresholds(min_pass_rate=0.85, tolerance=0.05), baseline)
    shown = [str(b) for b in breaches]
    assert "pass@1 = 0.5: below the minimum 0.85 (delta -0.35)" in shown
    assert "pass@1 = 0.5: fell below the baseline 0.9 by more than 0.05 (delta -0.4)" in shown
    assert not any("[energy]" in s for s in shown)  # energy did not move
    assert check_gate(record, GateThresholds(max_p95_latency_s=1e-6), None)[0].metric == (
        "p95 latency s"
    )
    assert check_gate(record, GateThresholds(min_pass_rate=0.5, tolerance=0.5), baseline) == []


def test_a_trial_past_its_timeout_is_cancelled_and_fails(
    eval_settings: Settings, journal: Journal
) -> None:
    settings = eval_settings.model_copy(update={"eval_run_timeout_seconds": 1e-6})
    options = EvalOptions(k=1, mode="inprocess", case_ids=("heat-pumps",))
    (trial,) = run_eval(open_runtime(settings), "research-report", options).trials
    assert not trial.passed
    status = trial.checks[0]
    assert status.check == "status" and status.actual.startswith("cancelled (cancelled: the eval")
    assert journal.get_run(trial.run_id).status.value == "cancelled"


def test_schedule_settings_are_crontabs_checked_at_start_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(
        ConfigError, match=r"CHORDLINE_NIGHTLY_EVAL_CRON=99 2 \* \* \* is invalid: minute 99"
    ):
        load_settings(nightly_eval_cron="99 2 * * *")
    with pytest.raises(ConfigError, match=r"CHORDLINE_CLEANUP_CRON=.*five fields"):
        load_settings(cleanup_cron="daily")
    # A valid one is kept as given and is what Beat fires the nightly eval on.
    monkeypatch.setenv("CHORDLINE_NIGHTLY_EVAL_CRON", "*/15 1-5 * * mon-fri")
    assert load_settings().nightly_eval_cron == "*/15 1-5 * * mon-fri"
    current_settings.cache_clear()  # Beat reads the process's settings once; read them anew
    try:
        nightly = schedule()["nightly-eval"]["schedule"]
    finally:
        current_settings.cache_clear()  # later readers see the environment without the patch
    assert (nightly.minute, nightly.hour, nightly.day_of_week) == (
        {0, 15, 30, 45},
        {1, 2, 3, 4, 5},
        {1, 2, 3, 4, 5},
    )


def test_a_pinned_judge_model_answers_through_the_official_sdk(fake_llm: FakeLLM) -> None:
    env = {k.removeprefix("CHORDLINE_").lower(): v for k, v in fake_llm.env().items()}
    settings = load_settings(**env, eval_judge_model="openai:gpt-5-mini-2025-08-07")
    verdicts = iter(['{"score": 0.8, "reason": "cites the article"}', "I think it is fine"])
    fake_llm.brain = lambda request: ModelReply(text=next(verdicts))
    judge = make_judge(settings.evals, ProviderPool(settings.llm, settings.agent_dirs))
    assert judge("refund ORD-1042", "Refunded (KB-101).", "cites KB-101") == (
        0.8,
        "cites the article",
    )
    score, reason = judge("refund ORD-1042", "Refunded.", "cites KB-101")
    assert score == 0.0 and reason.startswith("the judge's answer is not a verdict")
    (first, _) = fake_llm.calls("openai")
    assert first.body["model"] == "gpt-5-mini-2025-08-07"
    assert first.body["messages"][0]["content"] == JUDGE_SYSTEM
    assert "Rubric:\ncites KB-101" in first.body["messages"][1]["content"]
    with pytest.raises(ConfigError, match="openai:gpt-5-mini is an alias"):
        aliased = load_settings(**env, eval_judge_model="openai:gpt-5-mini")
        make_judge(aliased.evals, ProviderPool(aliased.llm, aliased.agent_dirs))
