"""Eval datasets: JSONL files under ``evals/<agent>/``, one case a line, validated on load.

A case names its input and what a good run looks like: the tools it should call (a set or a
sequence, with argument matchers), checks on its answer, the final state of the database, an
approval it must ask for, and an optional rubric for the LLM judge. Every error names the file,
the line and the field, with the fix.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from orchestration.errors import DatasetError

__all__ = [
    "ApprovalSpec",
    "ArgMatcher",
    "Case",
    "Dataset",
    "JudgeSpec",
    "NumberCheck",
    "OutputChecks",
    "StateCheck",
    "ToolExpectation",
    "dataset_dir",
    "dataset_hash",
    "load_dataset",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArgMatcher(_Strict):
    """How one tool argument must look: exactly a value, a regex, text it contains, or a number
    within a tolerance. Exactly one of the fields is set."""

    equals: Any = None
    regex: str | None = None
    contains: str | None = None
    approx: float | None = None
    tolerance: float = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _one_kind(self) -> ArgMatcher:
        kinds = [self.equals is not None, self.regex, self.contains, self.approx is not None]
        if sum(bool(k) for k in kinds) != 1:
            raise ValueError(
                "an argument matcher sets exactly one of equals, regex, contains, approx"
            )
        return self


class ToolExpectation(_Strict):
    """The tools a run should call.

    Attributes:
        expected: the tools it should call.
        order: ``set`` (all of them, any order) or ``sequence`` (in this order, others between
            allowed).
        forbidden: tools it must not call.
        args: per tool, per argument, what the argument of (any) call must match.
    """

    expected: tuple[str, ...] = ()
    order: Literal["set", "sequence"] = "set"
    forbidden: tuple[str, ...] = ()
    args: dict[str, dict[str, ArgMatcher]] = Field(default_factory=dict)


class NumberCheck(_Strict):
    """A number in the answer: the first match of ``regex`` (group 1, or the whole match) must
    be within ``tolerance`` of ``value``."""

    regex: str
    value: float
    tolerance: float = Field(0.0, ge=0)


class OutputChecks(_Strict):
    """Checks on the run's final answer (case-insensitive text checks)."""

    contains: tuple[str, ...] = ()
    not_contains: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    json_schema: dict[str, Any] | None = None
    number: tuple[NumberCheck, ...] = ()


class StateCheck(_Strict):
    """A SQL query against the run's database (``:run_id`` is bound) and the rows it must
    return, e.g. ``[[1]]``."""

    query: str = Field(min_length=6)
    expect: list[list[Any]]


class ApprovalSpec(_Strict):
    """How the eval's reviewer decides waiting calls, and which tools must have asked."""

    decision: Literal["approve", "reject"] = "approve"
    required: tuple[str, ...] = ()


class JudgeSpec(_Strict):
    """A rubric the pinned judge model scores the answer against (0 to 1)."""

    rubric: str = Field(min_length=3)
    min_score: float = Field(0.7, ge=0, le=1)


class Case(_Strict):
    """One eval case: an input and what a good run of it looks like."""

    id: str = Field(min_length=1, max_length=128)
    input: str = Field(min_length=1)
    category: str = "general"
    status: Literal["succeeded", "failed", "budget_exceeded", "cancelled"] | None = "succeeded"
    tools: ToolExpectation | None = None
    output: OutputChecks | None = None
    state: tuple[StateCheck, ...] = ()
    approval: ApprovalSpec = ApprovalSpec()
    judge: JudgeSpec | None = None


class Dataset(_Strict):
    """An agent's cases, from every ``*.jsonl`` file of its folder, and their content hash."""

    agent: str
    cases: tuple[Case, ...]
    hash: str
    files: tuple[str, ...]


def dataset_dir(evals_dir: Path, agent: str) -> Path:
    """The folder of ``agent``'s dataset and baseline."""
    return evals_dir / agent


def _files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.jsonl"))


def dataset_hash(evals_dir: Path, agent: str) -> str | None:
    """The content hash of ``agent``'s dataset files (None when it has none).

    The hash covers each file's name and bytes, so a renamed, edited or added case changes it.
    """
    files = _files(dataset_dir(evals_dir, agent))
    if not files:
        return None
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _field_errors(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "(case)"
        parts.append(f"field {where}: {str(error['msg']).removeprefix('Value error, ')}")
    return "; ".join(parts)


def _parse_line(path: Path, number: int, line: str) -> Case:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DatasetError(
            f"{path}:{number}: not JSON ({exc.msg} at column {exc.colno}). "
            "Fix: write one JSON object per line."
        ) from None
    if not isinstance(raw, dict):
        raise DatasetError(f"{path}:{number}: a case must be a JSON object. Fix: {{...}}.")
    try:
        return Case.model_validate(raw)
    except ValidationError as exc:
        raise DatasetError(
            f"{path}:{number}: invalid case: {_field_errors(exc)}. "
            "Fix: see evals/README.md for the case format."
        ) from None


def load_dataset(evals_dir: Path, agent: str) -> Dataset:
    """Read and validate every case of ``agent``.

    Args:
        evals_dir: the folder holding one dataset folder per agent.
        agent: the agent's name.

    Returns:
        The dataset.

    Raises:
        DatasetError: no dataset, a line that is not a valid case (named file:line and field),
            or a case id used twice.
    """
    folder = dataset_dir(evals_dir, agent)
    files = _files(folder)
    if not files:
        raise DatasetError(
            f"no eval dataset for {agent}: {folder}/*.jsonl matches nothing. "
            f"Fix: add cases to {folder}/cases.jsonl (one JSON object a line)."
        )
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("//"):
                continue
            case = _parse_line(path, number, line)
            if case.id in seen:
                raise DatasetError(
                    f"{path}:{number}: case id {case.id!r} is already used at {seen[case.id]}. "
                    "Fix: give each case its own id."
                )
            seen[case.id] = f"{path.name}:{number}"
            cases.append(case)
    digest = dataset_hash(evals_dir, agent) or ""
    return Dataset(agent=agent, cases=tuple(cases), hash=digest, files=tuple(p.name for p in files))
