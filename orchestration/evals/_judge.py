"""The LLM judge: a pinned model scores an answer against a rubric, with a short reason.

The judge's model is ``CHORDLINE_EVAL_JUDGE_MODEL``, an exact pin like the agents' (aliases are
refused the same way). Offline (``scripted:...``) a deterministic stand-in scores the share of
the rubric's criteria (separated by ``;`` or new lines) the answer meets by their quoted
phrases, identifiers and figures (see :func:`offline_score`), so eval results stay reproducible
without an API key.
"""

from __future__ import annotations

import json
import re

from orchestration.config import EvalSettings
from orchestration.errors import ProviderError
from orchestration.evals._checks import JudgeFn
from orchestration.llm.deployments import check_pin, parse
from orchestration.llm.providers import Message, ModelRequest, ProviderPool

__all__ = ["JUDGE_SYSTEM", "make_judge", "offline_score"]

JUDGE_SYSTEM = (
    "You grade an AI agent's answer against a rubric. Reply with one JSON object and nothing "
    'else: {"score": <a number from 0 to 1>, "reason": "<one short sentence>"}.'
)
_WORD = re.compile(r"[a-z0-9$][a-z0-9.$,-]{3,}")
_QUOTED = re.compile(r"\"([^\"]+)\"|'([^']+)'")


def _criterion_met(criterion: str, answer: str) -> bool:
    """Quoted phrases must all appear; else identifiers and figures (a token with a digit, such
    as KB-101 or $1249.00); else most words of four letters or more."""
    quoted = [a or b for a, b in _QUOTED.findall(criterion)]
    if quoted:
        return all(q.lower() in answer for q in quoted)
    words = _WORD.findall(criterion.lower())
    marks = [w.rstrip(".") for w in words if any(ch.isdigit() for ch in w)]
    if marks:
        return all(mark in answer for mark in marks)
    return not words or sum(w.rstrip(".") in answer for w in words) * 2 >= len(words)


def offline_score(answer: str, rubric: str) -> tuple[float, str]:
    """The offline judge: the share of the rubric's criteria the answer meets.

    A criterion is met when the answer contains its quoted phrases, or else its identifiers
    and figures, or else most of its words (case-insensitive). Deterministic, so an eval with
    a rubric gives the same result on every machine.

    Args:
        answer: the agent's answer.
        rubric: criteria separated by ``;`` or new lines.

    Returns:
        The score from 0 to 1 and which criteria were missed.
    """
    criteria = [c.strip() for c in re.split(r"[;\n]", rubric) if c.strip()]
    lowered = answer.lower()
    missed = [c for c in criteria if not _criterion_met(c, lowered)]
    met = len(criteria) - len(missed)
    score = met / len(criteria) if criteria else 0.0
    reason = f"met {met}/{len(criteria)} criteria"
    if missed:
        reason += "; missed: " + "; ".join(missed)
    return score, reason


def _parse_verdict(text: str) -> tuple[float, str]:
    found = re.search(r"\{.*\}", text, re.DOTALL)
    try:
        verdict = json.loads(found.group(0) if found else text)
        score = float(verdict["score"])
    except (ValueError, KeyError, TypeError):
        return 0.0, f"the judge's answer is not a verdict: {text[:120]!r}"
    return max(0.0, min(1.0, score)), str(verdict.get("reason", ""))[:300]


def make_judge(settings: EvalSettings, providers: ProviderPool) -> JudgeFn:
    """The judge of ``settings.eval_judge_model``, served from the runtime's ``providers`` (whose
    LLM settings say whether an alias is allowed).

    Raises:
        ConfigError: the judge's pin is not provider:model, or a floating alias.
    """
    deployment = parse(settings.eval_judge_model, default_model="judge-1")
    check_pin(deployment, providers.settings)
    if deployment.provider in ("scripted", "cache"):
        return lambda _input, answer, rubric: offline_score(answer, rubric)
    provider = providers.get(deployment.provider, deployment.model)

    def judge(case_input: str, answer: str, rubric: str) -> tuple[float, str]:
        prompt = f"Task given to the agent:\n{case_input}\n\nRubric:\n{rubric}\n\nAnswer:\n{answer}"
        request = ModelRequest(
            model=deployment.model,
            system=JUDGE_SYSTEM,
            messages=(Message("user", prompt),),
            tools=(),
        )
        try:
            reply = provider.complete(request)
        except ProviderError as exc:
            return 0.0, f"judge {deployment.name} failed: {exc}"
        return _parse_verdict(reply.text or "")

    return judge
