"""What the pages show, worked out from journal records: the timeline drawn to scale and each
step's details. Pure functions of their arguments (no SQL, no requests), so a page's cost is
its queries plus this."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from orchestration.journal.payloads import ApprovalDecision, ToolPayload, TurnPayload
from orchestration.journal.records import RunRecord, StepRecord
from orchestration.journal.tables import StepKind, StepStatus

__all__ = [
    "Bar",
    "Detail",
    "Timeline",
    "conversation",
    "duration",
    "money",
    "pretty_json",
    "step_detail",
    "timeline",
]

# The timeline's drawing is 1000 units wide; a bar is never thinner than this, so a step of a
# millisecond is still something to point at.
_WIDTH = 1000.0
_MIN_BAR = 3.0


@dataclass(frozen=True)
class Bar:
    """One row of the timeline: a step (or a workflow's child run) on the run's time axis.

    ``queued_*`` is the wait from creation to start; ``run_*`` the work (or, for an approval,
    the wait for a person) from start to finish or to now. Units are the drawing's (0-1000).
    """

    key: str
    label: str
    kind: str
    status: str
    turn: int
    attempt: int
    queued_x: float
    queued_w: float
    run_x: float
    run_w: float
    queued_s: float | None
    run_s: float | None
    link: str | None = None


@dataclass(frozen=True)
class Timeline:
    """A run's steps on one axis, from its creation to its end (or now)."""

    bars: tuple[Bar, ...]
    span_s: float
    ticks: tuple[tuple[float, str], ...]


def _seconds(start: datetime, end: datetime) -> float:
    return max((end - start).total_seconds(), 0.0)


def _ticks(span_s: float) -> tuple[tuple[float, str], ...]:
    steps = (
        0.01,
        0.02,
        0.05,
        0.1,
        0.2,
        0.5,
        1,
        2,
        5,
        10,
        20,
        30,
        60,
        120,
        300,
        600,
        1200,
        1800,
        3600,
        7200,
        21600,
        43200,
        86400,
    )
    every = next((s for s in steps if span_s / s <= 7), steps[-1])
    count = int(span_s // every)
    return tuple(
        (i * every / span_s * 100 if span_s else 0.0, duration(i * every)) for i in range(count + 1)
    )


def timeline(
    run: RunRecord,
    steps: Sequence[StepRecord],
    now: datetime,
    children: Sequence[RunRecord] = (),
) -> Timeline:
    """The run's steps (and a workflow's child runs) drawn to scale from its creation to its
    end, or to ``now`` while it moves."""
    start = run.created_at
    ends = [run.finished_at or now]
    ends += [s.finished_at or now for s in steps if s.started_at is not None]
    ends += [c.finished_at or now for c in children]
    span = max(_seconds(start, max(ends)), 0.001)

    def x(at: datetime) -> float:
        return min(_seconds(start, at) / span * _WIDTH, _WIDTH)

    bars: list[Bar] = []
    for step in steps:
        created = x(step.created_at)
        began = step.started_at
        finished = step.finished_at or (None if step.status.final else now)
        run_x = x(began) if began is not None else created
        run_end = x(finished) if (began is not None and finished is not None) else run_x
        bars.append(
            Bar(
                key=f"step-{step.seq}",
                label=f"#{step.seq} {step.kind.value} {step.name}",
                kind=step.kind.value,
                status=step.status.value,
                turn=step.turn,
                attempt=step.attempt,
                queued_x=created,
                queued_w=max(run_x - created, 0.0),
                run_x=min(run_x, _WIDTH - _MIN_BAR),
                run_w=max(run_end - run_x, _MIN_BAR) if began is not None else 0.0,
                queued_s=_seconds(step.created_at, began) if began is not None else None,
                run_s=_seconds(began, finished)
                if began is not None and finished is not None
                else None,
            )
        )
    for child in children:
        begin = x(child.created_at)
        end = x(child.finished_at or now)
        bars.append(
            Bar(
                key=f"child-{child.id}",
                label=f"{child.stage or 'child'}: {child.agent}",
                kind="run",
                status=child.status.value,
                turn=0,
                attempt=1,
                queued_x=begin,
                queued_w=0.0,
                run_x=min(begin, _WIDTH - _MIN_BAR),
                run_w=max(end - begin, _MIN_BAR),
                queued_s=None,
                run_s=_seconds(child.created_at, child.finished_at or now),
                link=f"/console/runs/{child.id}",
            )
        )
    return Timeline(tuple(bars), span, _ticks(span))


def duration(seconds: float | None) -> str:
    """Seconds as people read them: ``840 ms``, ``3.2 s``, ``4 min 10 s``, ``2 h 5 min``."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


def money(value: Decimal | None) -> str:
    """Dollars to the cent, or to six places below a cent; ``unknown`` when not priced."""
    if value is None:
        return "unknown"
    if value and abs(value) < Decimal("0.01"):
        return f"${value:.6f}"
    return f"${value:.2f}"


def pretty_json(text: str | None) -> str:
    """JSON text indented for reading (text that is not JSON, as it is)."""
    if text is None:
        return ""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def _json_of(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _fingerprint(text: str) -> str:
    data = text.encode("utf-8", errors="surrogatepass")
    return f"{len(data):,} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}"


@dataclass(frozen=True)
class Detail:
    """What a step opens to show: labelled facts, and labelled blocks of text."""

    facts: tuple[tuple[str, str], ...]
    blocks: tuple[tuple[str, str], ...] = ()
    rows: tuple[tuple[str, ...], ...] = field(default=())


def _turn(step: StepRecord, payload: TurnPayload, sent: list[tuple[str, str]]) -> Detail:
    facts = [
        ("deployment", payload.deployment or "none answered"),
        ("model asked", payload.requested_model or step.requested_model or "-"),
        ("model answered", payload.returned_model or step.model or "-"),
        ("drift", "yes: the model that answered is not the one asked for" if step.drift else "no"),
        ("tokens", f"{step.input_tokens:,} in, {step.output_tokens:,} out"),
        ("cost", money(step.cost_usd)),
    ]
    if payload.compaction is not None:
        facts.append(
            (
                "compacted",
                f"{payload.compaction.elided_tool_outputs} tool outputs elided, "
                f"{payload.compaction.tokens:,} tokens sent",
            )
        )
    facts += [("skipped " + s.deployment, s.reason) for s in payload.skipped]
    blocks = list(sent)
    reply = payload.reply
    if reply is not None:
        if reply.text is not None:
            blocks.append(("answer", reply.text))
        for call in reply.tool_calls:
            blocks.append((f"tool call {call.name} ({call.call_id})", pretty_json(call.arguments)))
    rows = tuple(
        (
            a.deployment,
            str(a.number),
            a.outcome,
            "" if a.status is None else str(a.status),
            duration(a.took_s),
            a.error or "",
        )
        for a in payload.attempts
    )
    return Detail(tuple(facts), tuple(blocks), rows)


def step_detail(
    step: StepRecord,
    sent: list[tuple[str, str]],
    show_text: bool,
    redact: Callable[[str], str],
) -> Detail:
    """A step's details: for an LLM turn what was sent and answered, tokens, cost, deployment,
    attempts, skips and drift; for a tool call its arguments, result, error and idempotency
    key; for an approval the decision.

    Args:
        step: the step.
        sent: the messages the turn was sent (role, text), for an LLM turn.
        show_text: content capture covers this run: show text (redacted); otherwise sizes and
            hashes in its place.
        redact: the redactor traces use.
    """

    def shown(text: str) -> str:
        return redact(text) if show_text else _fingerprint(text)

    base: list[tuple[str, str]] = [
        ("status", step.status.value),
        ("attempt", str(step.attempt)),
        ("took", duration(step.duration_s)),
    ]
    payload = step.result
    if step.kind == StepKind.LLM:
        turn = payload if isinstance(payload, TurnPayload) else TurnPayload(reply=None)
        detail = _turn(step, turn, sent)
        said = tuple(
            (label, text if label == "earlier" else shown(text)) for label, text in detail.blocks
        )
        error = (("error", step.error),) if step.error else ()
        return Detail(tuple(base) + detail.facts, said + error, detail.rows)
    if step.kind == StepKind.TOOL:
        key = hashlib.sha256(f"chordline:{step.run_id}:{step.seq}".encode()).hexdigest()[:32]
        facts = [*base, ("idempotency key", key), ("call id", step.call_id or "-")]
        blocks: list[tuple[str, str]] = [("arguments", shown(pretty_json(step.arguments)))]
        if isinstance(payload, ToolPayload):
            blocks.append(("result", shown(_json_of(payload.output))))
        if step.error:
            blocks.append(("error", step.error))
        return Detail(tuple(facts), tuple(blocks))
    if step.kind == StepKind.APPROVAL and isinstance(payload, ApprovalDecision):
        decided: list[tuple[str, str]] = [
            *base,
            ("decision", "approved" if payload.approved else "rejected"),
            ("by", payload.reviewer or "-"),
            ("at", payload.decided_at.isoformat() if payload.decided_at else "-"),
            ("reason", payload.reason or "-"),
        ]
        asked = [("arguments", shown(pretty_json(step.arguments)))]
        if payload.arguments is not None:
            asked.append(("edited arguments", shown(pretty_json(payload.arguments))))
        return Detail(tuple(decided), tuple(asked))
    waiting = step.status == StepStatus.WAITING
    other = [*base, ("waiting for", "a person's decision")] if waiting else base
    texts = [("arguments", shown(pretty_json(step.arguments)))] if step.arguments else []
    if step.error:
        texts.append(("error", step.error))
    return Detail(tuple(other), tuple(texts))


def conversation(run: RunRecord, steps: Sequence[StepRecord]) -> dict[int, list[tuple[str, str]]]:
    """For each LLM turn, the messages it was sent that the turn before it was not: the run's
    input first, then each answer and tool result since (the system prompt is the agent
    version's, named by its hash). A page of 500 steps so stays linear in size."""
    sent: dict[int, list[tuple[str, str]]] = {}
    fresh: list[tuple[str, str]] = [("user", run.input)]
    earlier = 0
    for step in steps:
        payload = step.result
        if step.kind == StepKind.LLM:
            note = [("earlier", f"{earlier} earlier messages, shown at the turns before")]
            sent[step.seq] = (note if earlier else []) + fresh
            earlier += len(fresh)
            fresh = []
            reply = payload.reply if isinstance(payload, TurnPayload) else None
            if reply is not None:
                calls = ", ".join(f"{c.name}({c.arguments})" for c in reply.tool_calls)
                fresh.append(("assistant", reply.text or f"calls {calls}"))
        elif step.kind == StepKind.TOOL and isinstance(payload, ToolPayload):
            fresh.append((f"tool {step.name}", _json_of(payload.output)))
    return sent
