"""Fine-tuning data: an agent's good runs as chat-format JSONL, redacted, with a data report.

A run is exported when it succeeded and no approval of it was rejected (an eval trial's run
counts like any other: the export does not read eval results). Each example is the
conversation the model saw and answered, rebuilt from the journal: system prompt, input, each
answer (tool calls included) and each tool result, with the agent's tool schemas, every string
redacted of e-mail addresses, phone and card numbers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from orchestration.agents.definition import Agent
from orchestration.agents.registry import load_registry
from orchestration.config import KnowledgeSettings
from orchestration.errors import KnowledgeError
from orchestration.journal import Journal
from orchestration.journal.payloads import ApprovalDecision, ToolPayload, TurnPayload
from orchestration.journal.records import RunRecord, StepRecord
from orchestration.journal.tables import RunStatus, StepKind, StepStatus
from orchestration.knowledge._redaction import redact
from orchestration.llm.providers.tokens import openai_counter

__all__ = ["TRAINING_USD_PER_MILLION", "ExportReport", "export_examples"]

# OpenAI's published training prices (USD per million training tokens), 2026-11.
TRAINING_USD_PER_MILLION = {
    "gpt-4o-mini-2024-07-18": Decimal("3.00"),
    "gpt-4o-2024-08-06": Decimal("25.00"),
    "gpt-4.1-2025-04-14": Decimal("25.00"),
    "gpt-4.1-mini-2025-04-14": Decimal("5.00"),
    "gpt-4.1-nano-2025-04-14": Decimal("1.50"),
}
_EPOCHS = 3  # OpenAI's default for small data sets


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote.

    Attributes:
        agent: the agent.
        path: the JSONL file.
        examples: runs exported.
        excluded: runs left out, with the reason, as ``(run_id, reason)``.
        tokens: tokens in the file (the base model's tokenizer, or an estimate).
        epochs: the epochs the estimate assumes.
        estimated_usd: training cost at ``base_model``'s price, None when it has no price.
        base_model: the model the cost is estimated for.
    """

    agent: str
    path: Path
    examples: int
    excluded: tuple[tuple[str, str], ...]
    tokens: int
    epochs: int
    estimated_usd: Decimal | None
    base_model: str


def _rejected(steps: list[StepRecord]) -> bool:
    for step in steps:
        result = step.result
        if isinstance(result, ApprovalDecision) and not result.approved:
            return True
        if isinstance(result, ToolPayload) and result.rejected:
            return True
    return False


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    return value


def _messages(agent: Agent, run: RunRecord, steps: list[StepRecord]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": agent.system_prompt},
        {"role": "user", "content": run.input},
    ]
    for step in steps:
        result = step.result
        if step.kind == StepKind.LLM:
            reply = result.reply if isinstance(result, TurnPayload) else None
            text = reply.text if reply else None
            message: dict[str, Any] = {"role": "assistant", "content": text or ""}
            if reply and reply.tool_calls:
                message["tool_calls"] = [
                    {
                        "id": c.call_id,
                        "type": "function",
                        "function": {"name": c.name, "arguments": c.arguments},
                    }
                    for c in reply.tool_calls
                ]
            messages.append(message)
        elif step.kind == StepKind.TOOL:
            output = result.output if isinstance(result, ToolPayload) else None
            content = json.dumps(output, default=str) if result else step.error
            messages.append(
                {"role": "tool", "tool_call_id": step.call_id, "content": content or ""}
            )
    return messages


def _runs(journal: Journal, agent: str) -> Iterator[tuple[RunRecord, list[StepRecord] | str]]:
    """Each run of ``agent`` with its steps, or the reason it is left out."""
    for run in journal.agent_runs(agent):
        if run.status != RunStatus.SUCCEEDED:
            yield run, f"status {run.status.value}"
            continue
        steps = [s for s in journal.steps(run.id) if s.status != StepStatus.PENDING]
        yield run, "an approval was rejected" if _rejected(steps) else steps


def export_examples(
    settings: KnowledgeSettings,
    agent_dirs: tuple[Path, ...],
    journal: Journal,
    agent_name: str,
    path: Path,
) -> ExportReport:
    """Write ``agent_name``'s good runs in ``journal`` to ``path`` as chat-format JSONL, the
    agent loaded from ``agent_dirs`` and the tokens counted for ``settings``' base model.

    Raises:
        AgentNotFound: no such agent.
        KnowledgeError: no run qualifies (an empty file cannot be trained on).
    """
    agent = load_registry(agent_dirs).get(agent_name)
    tools = [{"type": "function", "function": t.schema()} for t in agent.tools]
    count, _ = openai_counter(settings.finetune_base_model)
    examples: list[str] = []
    excluded: list[tuple[str, str]] = []
    tokens = 0
    for run, steps in _runs(journal, agent_name):
        if isinstance(steps, str):
            excluded.append((run.id, steps))
            continue
        example = _scrub({"messages": _messages(agent, run, steps), "tools": tools})
        line = json.dumps(example, ensure_ascii=False)
        tokens += count(line)
        examples.append(line)
    if not examples:
        raise KnowledgeError(
            f"agent {agent_name} has no successful run without a rejected approval to export "
            f"({len(excluded)} excluded). Fix: run it (chordline submit {agent_name} ...) first."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(examples) + "\n", encoding="utf-8")
    price = TRAINING_USD_PER_MILLION.get(settings.finetune_base_model)
    cost = (
        None
        if price is None
        else (price * tokens * _EPOCHS / 1_000_000).quantize(Decimal("0.0001"))
    )
    return ExportReport(
        agent_name,
        path,
        len(examples),
        tuple(excluded),
        tokens,
        _EPOCHS,
        cost,
        settings.finetune_base_model,
    )
