"""Checking one trial of a case: its tools, answer, final state, approvals and the judge.

Each check gives a :class:`CheckResult` with what was expected and what the run did, so a
failing case says exactly which check failed and why.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestration.errors import EvalError
from orchestration.evals import store
from orchestration.evals.dataset import ArgMatcher, Case, NumberCheck, OutputChecks, StateCheck
from orchestration.evals.results import CheckResult
from orchestration.journal import open_journal

__all__ = ["CheckResult", "JudgeFn", "ToolUse", "TrialFacts", "evaluate_case", "tool_scores"]


@dataclass(frozen=True)
class ToolUse:
    """A tool call the model asked for, with its parsed arguments and how the step ended."""

    name: str
    arguments: dict[str, Any]
    status: str


@dataclass(frozen=True)
class TrialFacts:
    """What one trial's run did, read from the journal."""

    run_id: str
    status: str
    output: str
    error: str | None
    tools: tuple[ToolUse, ...]
    approvals: tuple[str, ...]


JudgeFn = Callable[[str, str, str], tuple[float, str]]
"""(case input, answer, rubric) -> (score from 0 to 1, a short reason)."""


def _short(value: Any, limit: int = 160) -> str:
    shown = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def _matches(matcher: ArgMatcher, value: Any) -> bool:
    if matcher.equals is not None:
        return bool(value == matcher.equals)
    if matcher.regex is not None:
        return value is not None and re.search(matcher.regex, str(value)) is not None
    if matcher.contains is not None:
        return matcher.contains.lower() in str(value).lower()
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return math.isclose(number, matcher.approx or 0.0, abs_tol=matcher.tolerance)


def _is_subsequence(expected: tuple[str, ...], called: list[str]) -> bool:
    remaining = iter(called)
    return all(name in remaining for name in expected)


def _tool_checks(case: Case, facts: TrialFacts) -> list[CheckResult]:
    spec = case.tools
    if spec is None:
        return []
    called = [t.name for t in facts.tools]
    results: list[CheckResult] = []
    if spec.expected:
        if spec.order == "sequence":
            ok = _is_subsequence(spec.expected, called)
        else:
            ok = set(spec.expected) <= set(called)
        results.append(
            CheckResult(f"tools.{spec.order}", ok, _short(list(spec.expected)), _short(called))
        )
    for name in spec.forbidden:
        results.append(
            CheckResult("tools.forbidden", name not in called, f"no {name}", _short(called))
        )
    for tool_name, matchers in spec.args.items():
        uses = [t for t in facts.tools if t.name == tool_name]
        for arg, matcher in matchers.items():
            values = [u.arguments.get(arg) for u in uses]
            ok = any(_matches(matcher, v) for v in values)
            shown = matcher.model_dump(exclude_defaults=True)
            results.append(
                CheckResult(f"tools.args {tool_name}.{arg}", ok, _short(shown), _short(values))
            )
    return results


def _number_check(check: NumberCheck, answer: str) -> CheckResult:
    found = re.search(check.regex, answer)
    label = f"output.number /{check.regex}/"
    expected = f"{check.value:g} ± {check.tolerance:g}"
    if found is None:
        return CheckResult(label, False, expected, "no match")
    raw = found.group(1) if found.groups() else found.group(0)
    try:
        number = float(raw.replace(",", ""))
    except ValueError:
        return CheckResult(label, False, expected, _short(raw))
    ok = math.isclose(number, check.value, abs_tol=check.tolerance)
    return CheckResult(label, ok, expected, f"{number:g}")


def _json_schema_check(schema: dict[str, Any], answer: str) -> CheckResult:
    try:
        import jsonschema
    except ImportError:  # the evals extra is not installed
        raise EvalError(
            "a case checks its answer against a JSON schema but jsonschema is not installed. "
            "Fix: pip install 'chordline[evals]'."
        ) from None
    try:
        document = json.loads(answer)
    except json.JSONDecodeError as exc:
        return CheckResult("output.json_schema", False, "a JSON answer", f"not JSON: {exc.msg}")
    try:
        jsonschema.validate(document, schema)
    except jsonschema.ValidationError as exc:
        return CheckResult("output.json_schema", False, _short(schema), _short(exc.message))
    return CheckResult("output.json_schema", True, _short(schema), "valid")


def _output_checks(spec: OutputChecks | None, facts: TrialFacts) -> list[CheckResult]:
    if spec is None:
        return []
    answer = facts.output
    lowered = answer.lower()
    results = [
        CheckResult("output.contains", s.lower() in lowered, s, _short(answer))
        for s in spec.contains
    ]
    results += [
        CheckResult("output.not_contains", s.lower() not in lowered, f"not {s!r}", _short(answer))
        for s in spec.not_contains
    ]
    results += [
        CheckResult("output.regex", re.search(r, answer) is not None, f"/{r}/", _short(answer))
        for r in spec.regex
    ]
    if spec.json_schema is not None:
        results.append(_json_schema_check(spec.json_schema, answer))
    results += [_number_check(n, answer) for n in spec.number]
    return results


def _state_check(check: StateCheck, facts: TrialFacts, database_url: str) -> CheckResult:
    params = {"run_id": facts.run_id} if ":run_id" in check.query else {}
    label = f"state {_short(check.query, 80)}"
    try:
        rows = store.state_rows(open_journal(database_url), check.query, params)
    except store.StateQueryFailed as exc:
        return CheckResult(label, False, _short(check.expect), f"query failed: {exc}")
    # Databases differ in numeric types (Decimal, int, float): compare as JSON-ish values.
    normalised = json.loads(json.dumps(rows, default=float))
    return CheckResult(label, normalised == check.expect, _short(check.expect), _short(rows))


def evaluate_case(
    case: Case, facts: TrialFacts, *, database_url: str, judge: JudgeFn | None
) -> tuple[CheckResult, ...]:
    """Every check of ``case`` against one trial.

    Args:
        case: the case.
        facts: what the trial's run did.
        database_url: the run's database, for final-state checks.
        judge: the LLM judge, for a case with a rubric.

    Returns:
        The checks, in the order the case states them (status first).
    """
    results: list[CheckResult] = []
    if case.status is not None:
        shown = facts.status + (f" ({_short(facts.error, 120)})" if facts.error else "")
        results.append(CheckResult("status", facts.status == case.status, case.status, shown))
    for name in case.approval.required:
        asked = name in facts.approvals
        shown = _short(list(facts.approvals)) if facts.approvals else "no approval asked"
        results.append(CheckResult(f"approval {name}", asked, "asked for approval", shown))
    results += _tool_checks(case, facts)
    results += _output_checks(case.output, facts)
    results += [_state_check(c, facts, database_url) for c in case.state]
    if case.judge is not None and judge is not None:
        score, reason = judge(case.input, facts.output, case.judge.rubric)
        results.append(
            CheckResult(
                "judge",
                score >= case.judge.min_score,
                f">= {case.judge.min_score:g}",
                f"{score:.2f}: {_short(reason, 200)}",
            )
        )
    return tuple(results)


def tool_scores(case: Case, facts: TrialFacts) -> tuple[int, int, int] | None:
    """(expected and called, called, expected) tool names for precision and recall, or None
    when the case states no expected tools."""
    if case.tools is None or not case.tools.expected:
        return None
    called = {t.name for t in facts.tools}
    expected = set(case.tools.expected)
    return len(called & expected), len(called), len(expected)
