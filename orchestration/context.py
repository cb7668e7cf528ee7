"""The model's view of a run: the conversation rebuilt from the journal, fitted to the window.

A turn reads at most ``max_steps`` recent steps (one indexed range read) and keeps, newest
first, what fits the model's token window; whatever does not fit is dropped (oldest first,
whole turns) and the turn records that it compacted. So a turn at step 1,000 reads no more than
a turn at step 100: the cost of a step does not grow with the run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from orchestration.models import StepKind, StepStatus
from orchestration.providers.base import Message, ModelReply
from orchestration.records import ContextEntry, RunRecord

__all__ = ["Conversation", "build_conversation", "step_messages"]

_RESERVED_FOR_REPLY = 1024


@dataclass(frozen=True)
class Conversation:
    """The messages for one turn and whether older ones were left out to fit."""

    messages: tuple[Message, ...]
    compacted: bool
    tokens: int


def step_messages(step: ContextEntry, max_chars: int) -> list[Message]:
    """The messages one journaled step contributes (approval steps contribute none)."""
    if step.kind == StepKind.LLM and step.result is not None:
        reply = ModelReply.from_record(step.result)
        return [Message("assistant", reply.text or "", tool_calls=reply.tool_calls)]
    if step.kind != StepKind.TOOL or not step.status.final:
        return []
    if step.status == StepStatus.FAILED:
        content, is_error = step.error or "failed", True
    else:
        result = step.result or {}
        content = json.dumps(result.get("output", result), sort_keys=True, default=str)
        is_error = False
    if len(content) > max_chars:
        content = content[: max_chars - 40] + f"... [{len(content) - max_chars + 40} chars cut]"
    return [Message("tool", content, tool_call_id=step.call_id, name=step.name, is_error=is_error)]


def build_conversation(
    run: RunRecord,
    steps_newest_first: Sequence[ContextEntry],
    *,
    budget_tokens: int,
    count_tokens: Callable[[str], int],
    max_tool_chars: int,
) -> Conversation:
    """Fit the run's input and as many recent steps as the budget allows.

    Args:
        run: the run (its input is always kept).
        steps_newest_first: the recent steps, newest first (a bounded read); when there are
            more steps before them, the conversation counts as compacted.
        budget_tokens: the model's window less the system prompt and tool schemas.
        count_tokens: the provider's ``count_tokens``.
        max_tool_chars: cap on one tool result's text.

    Returns:
        The conversation, oldest first.
    """
    used = count_tokens(run.input)
    budget = budget_tokens - _RESERVED_FOR_REPLY
    kept: list[Message] = []
    compacted = False
    for step in steps_newest_first:
        messages = step_messages(step, max_tool_chars)
        cost = sum(count_tokens(m.content + _arguments(m)) for m in messages)
        if used + cost > budget:
            compacted = True
            break
        kept.extend(reversed(messages))
        used += cost
    kept.reverse()
    oldest = steps_newest_first[-1].seq if steps_newest_first else 1
    compacted = compacted or oldest > 1
    # A tool result must follow the assistant message that asked for it: drop orphans that lost
    # their call to the cut.
    while kept and kept[0].role == "tool":
        kept.pop(0)
    return Conversation((Message("user", run.input), *kept), compacted, used)


def _arguments(message: Message) -> str:
    return "".join(call.arguments for call in message.tool_calls)
