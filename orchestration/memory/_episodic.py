"""Episodic memory: a session's earlier runs (inputs, answers, tool outcomes) from the journal
(read by :func:`orchestration.memory.store.episodes`).

Runs of the session that succeeded within ``CHORDLINE_MEMORY_RETENTION_DAYS`` are episodes.
The newest are given in full while they fit ``CHORDLINE_MEMORY_EPISODIC_TOKENS``; older ones
are summarised to a line each (the question and the start of the answer), and what still does
not fit is counted, not given.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from orchestration.journal.payloads import StepPayload, ToolPayload

__all__ = ["Episode", "EpisodicContext", "fit_episodes", "tool_outcome"]

_TOOL_CHARS = 160


@dataclass(frozen=True)
class Episode:
    """One earlier run of the session."""

    run_id: str
    created_at: datetime
    input: str
    answer: str
    tools: tuple[str, ...]  # "name: outcome", shortened

    def full(self) -> str:
        """The episode in full, as the model reads it."""
        lines = [f"[{self.created_at:%Y-%m-%d %H:%M}] user: {self.input}", f"answer: {self.answer}"]
        lines += [f"tool {outcome}" for outcome in self.tools]
        return "\n".join(lines)

    def summary(self) -> str:
        """The episode in one line."""
        answer = self.answer.replace("\n", " ")
        return f"[{self.created_at:%Y-%m-%d}] asked {self.input[:80]!r}; answered {answer[:100]!r}"


@dataclass(frozen=True)
class EpisodicContext:
    """What episodic memory gives a run.

    Attributes:
        full: episodes given in full, oldest first.
        summarised: episodes given as one line each, oldest first.
        dropped: how many older episodes did not fit at all.
    """

    full: tuple[Episode, ...] = ()
    summarised: tuple[Episode, ...] = ()
    dropped: int = 0

    @property
    def empty(self) -> bool:
        """True when nothing was loaded."""
        return not (self.full or self.summarised)

    def text(self) -> str:
        """The episodes as the model reads them."""
        parts = [e.summary() for e in self.summarised] + [e.full() for e in self.full]
        if self.dropped:
            parts.insert(0, f"({self.dropped} older conversation(s) not shown)")
        return "\n".join(parts)


def _short(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= _TOOL_CHARS else text[: _TOOL_CHARS - 3] + "..."


def tool_outcome(name: str, result: StepPayload | None, error: str | None, failed: bool) -> str:
    """One tool call of an episode, shortened: ``name: output`` or ``name: failed: error``."""
    outcome = result.output if isinstance(result, ToolPayload) else None
    if failed:
        outcome = f"failed: {error}"
    return f"{name}: {_short(outcome)}"


def fit_episodes(
    found: Sequence[Episode], budget_tokens: int, count_tokens: Callable[[str], int]
) -> EpisodicContext:
    """Give the newest episodes in full while they fit ``budget_tokens``, summarise older ones
    while their lines fit, and count the rest.

    Args:
        found: the episodes, oldest first.
        budget_tokens: the tokens episodic memory may take.
        count_tokens: the model's token counter.
    """
    full: list[Episode] = []
    summarised: list[Episode] = []
    used = 0
    newest_first = list(reversed(found))
    rest: list[Episode] = []
    for position, episode in enumerate(newest_first):
        cost = count_tokens(episode.full())
        if used + cost > budget_tokens:
            rest = newest_first[position:]
            break
        full.append(episode)
        used += cost
    dropped = 0
    for position, episode in enumerate(rest):
        cost = count_tokens(episode.summary())
        if used + cost > budget_tokens:
            dropped = len(rest) - position
            break
        summarised.append(episode)
        used += cost
    return EpisodicContext(tuple(reversed(full)), tuple(reversed(summarised)), dropped)
