"""The model's view of a run: the conversation rebuilt from the journal, fitted to the window.

A turn reads at most a bounded number of recent steps (one indexed range read, see
``Journal.context_entries``), so a turn at step 1,000 costs what a turn at step 100 does. The run's
input and the latest turn (the last model answer and the tool results after it) are always kept
whole, and the system prompt and tool schemas are outside this budget altogether. When the rest
does not fit, older tool outputs are first *elided* (replaced by a one-line note naming the tool
and the size of what was cut, so the model knows the call happened), and once even those notes do
not fit, everything older is dropped, oldest first, in whole turns. The turn records what it did.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from orchestration.journal.payloads import Compaction, ToolPayload, TurnPayload, encode
from orchestration.journal.records import ContextEntry, RunRecord
from orchestration.journal.tables import StepKind, StepStatus
from orchestration.llm.providers.base import Message

__all__ = ["Conversation", "build_conversation", "step_messages"]

_RESERVED_FOR_REPLY = 1024


@dataclass(frozen=True)
class Conversation:
    """The messages for one turn and whether (and how) they were compacted to fit.

    Attributes:
        messages: oldest first, starting with the run's input.
        compacted: True when anything was elided or dropped.
        tokens: the messages' tokens.
        elided: how many older tool outputs were replaced by a note.
        dropped: True when older steps were left out altogether.
    """

    messages: tuple[Message, ...]
    compacted: bool
    tokens: int
    elided: int = 0
    dropped: bool = False

    def compaction(self) -> Compaction | None:
        """What compaction did, for the step's result (None when nothing was cut)."""
        if not self.compacted:
            return None
        return Compaction(self.elided, self.dropped, self.tokens)


def step_messages(step: ContextEntry, max_chars: int) -> list[Message]:
    """The messages one journaled step contributes (approval steps contribute none)."""
    result = step.result
    if step.kind == StepKind.LLM and result is not None:
        # A turn that was stopped or got no answer (its run ended there) reads as an empty one.
        reply = result.reply if isinstance(result, TurnPayload) else None
        if reply is None:
            return [Message("assistant", "")]
        return [Message("assistant", reply.text or "", tool_calls=reply.tool_calls)]
    if step.kind != StepKind.TOOL or not step.status.final:
        return []
    if step.status == StepStatus.FAILED:
        content, is_error = step.error or "failed", True
    else:
        # What the tool returned (or the rejection in its place); a step its run's stop
        # skipped shows the stop.
        shown = result.output if isinstance(result, ToolPayload) else encode(result) or {}
        content = json.dumps(shown, sort_keys=True, default=str)
        is_error = False
    if len(content) > max_chars:
        content = content[: max_chars - 40] + f"... [{len(content) - max_chars + 40} chars cut]"
    return [Message("tool", content, tool_call_id=step.call_id, name=step.name, is_error=is_error)]


def _elided(message: Message) -> Message:
    note = (
        f"[output of {message.name} elided to fit the context window: "
        f"{len(message.content)} characters]"
    )
    return replace(message, content=note)


def build_conversation(
    run: RunRecord,
    steps_newest_first: Sequence[ContextEntry],
    *,
    budget_tokens: int,
    count_tokens: Callable[[str], int],
    max_tool_chars: int,
    reserve_tokens: int = _RESERVED_FOR_REPLY,
) -> Conversation:
    """Fit the run's input and as many recent steps as the budget allows.

    Args:
        run: the run (its input is always kept).
        steps_newest_first: the journal read backwards from the current step; only pulled as
            far as the budget reaches.
        budget_tokens: the model's window less the system prompt and tool schemas.
        count_tokens: the provider's ``count_tokens``.
        max_tool_chars: cap on one tool result's text.
        reserve_tokens: tokens left free for the model's answer.

    Returns:
        The conversation, oldest first.
    """

    def cost(messages: list[Message]) -> int:
        return sum(count_tokens(m.content + _arguments(m)) for m in messages)

    used = count_tokens(run.input)
    budget = budget_tokens - reserve_tokens
    kept: list[Message] = []
    in_latest_turn, eliding, elided, dropped = True, False, 0, False
    for step in steps_newest_first:
        messages = step_messages(step, max_tool_chars)
        if not messages:
            continue
        full = cost(messages)
        if in_latest_turn or (not eliding and used + full <= budget):
            chosen, spent = messages, full
        elif step.kind == StepKind.TOOL and used + cost([_elided(m) for m in messages]) <= budget:
            chosen = [_elided(m) for m in messages]
            spent = cost(chosen)
            eliding = True
            elided += len(chosen)
        elif step.kind == StepKind.TOOL or used + full > budget:
            dropped = True
            break
        else:
            chosen, spent = messages, full
        kept.extend(reversed(chosen))
        used += spent
        if step.kind == StepKind.LLM:
            in_latest_turn = False
    kept.reverse()
    # A tool result must follow the assistant message that asked for it: drop orphans that lost
    # their call to the cut.
    while kept and kept[0].role == "tool":
        kept.pop(0)
    # Steps older than the bounded read were left out too.
    oldest_read = steps_newest_first[-1].seq if steps_newest_first else 1
    dropped = dropped or oldest_read > 1
    compacted = dropped or elided > 0
    return Conversation(
        (Message("user", run.input), *kept), compacted, used, elided=elided, dropped=dropped
    )


def _arguments(message: Message) -> str:
    return "".join(call.arguments for call in message.tool_calls)
