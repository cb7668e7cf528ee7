"""``GET /v1/runs/{id}/events``: server-sent events, one per step change, read from the journal.

Each event is derived from the journal alone (a step's creation, start, wait and finish, then
the run's end), and its id sorts by when it happened: ``<microseconds>.<seq>.<phase>``. A client
that reconnects with ``Last-Event-ID`` is sent every event after that id again, starting
:data:`REPLAY_GRACE_S` earlier: a step's time is taken when its transaction starts, so an event
can become visible slightly after a later one was sent. Ids are unique; skip ids already seen.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from orchestration.api.auth import Reader
from orchestration.api.context import context_of
from orchestration.api.runs import RUN_ID
from orchestration.api.schemas import problems
from orchestration.journal import Journal
from orchestration.journal.records import RunRecord, StepRecord
from orchestration.journal.tables import StepKind, StepStatus

__all__ = ["REPLAY_GRACE_S", "StepEvent", "journal_events", "router"]

REPLAY_GRACE_S = 10.0
_POLL_S = 0.25
_KEEPALIVE_S = 15.0
_UNPARKED = (StepStatus.PENDING, StepStatus.RUNNING)
_PHASES = {"created": 0, "started": 1, "waiting": 2, "finished": 3, "run": 9}

router = APIRouter(prefix="/v1", tags=["runs"])


@dataclass(frozen=True)
class StepEvent:
    """One change, as the stream sends it."""

    id: str
    event: str
    data: dict[str, object]

    def frame(self) -> str:
        """The event in the text/event-stream format."""
        return f"id: {self.id}\nevent: {self.event}\ndata: {json.dumps(self.data)}\n\n"


def _micros(at: datetime) -> int:
    return int(at.timestamp() * 1_000_000)


def _event_id(at: datetime, seq: int, phase: str) -> str:
    return f"{_micros(at):017d}.{seq:07d}.{_PHASES[phase]}"


def _step_events(step: StepRecord) -> list[StepEvent]:
    base: dict[str, object] = {
        "run_id": step.run_id,
        "seq": step.seq,
        "kind": step.kind.value,
        "name": step.name,
    }
    found = [(step.created_at, "created", StepStatus.PENDING.value)]
    if step.started_at is not None:
        found.append((step.started_at, "started", StepStatus.RUNNING.value))
        # An approval step waits once parked, and that stays true after it is decided.
        parked = step.kind == StepKind.APPROVAL and step.status not in _UNPARKED
        if step.status == StepStatus.WAITING or parked:
            found.append((step.started_at, "waiting", StepStatus.WAITING.value))
    if step.status.final and step.finished_at is not None:
        found.append((step.finished_at, "finished", step.status.value))
    return [
        StepEvent(
            _event_id(at, step.seq, phase), "step", {**base, "status": status, "at": at.isoformat()}
        )
        for at, phase, status in found
    ]


def journal_events(journal: Journal, run_id: str) -> tuple[RunRecord, list[StepEvent]]:
    """Every event the journal holds for a run, in id order (the run's end last)."""
    run = journal.get_run(run_id)
    events = [event for step in journal.steps(run_id) for event in _step_events(step)]
    if run.status.terminal:
        at = run.finished_at or run.updated_at
        data: dict[str, object] = {
            "run_id": run.id,
            "status": run.status.value,
            "answer": run.output,
            "error": run.error,
        }
        events.append(StepEvent(_event_id(at, 9_999_999, "run"), "run", data))
    return run, sorted(events, key=lambda e: e.id)


def _replay_from(last_event_id: str | None) -> str:
    if not last_event_id:
        return ""
    head = last_event_id.split(".", 1)[0]
    if not head.isdigit():
        return ""  # not one of ours: send everything
    return f"{max(int(head) - int(REPLAY_GRACE_S * 1_000_000), 0):017d}"


async def _stream(request: Request, run_id: str, after: str) -> AsyncIterator[str]:
    journal = context_of(request).client.runtime.journal
    sent: set[str] = set()
    quiet = 0.0
    while True:
        run, events = await run_in_threadpool(journal_events, journal, run_id)
        fresh = [e for e in events if e.id > after and e.id not in sent]
        for event in fresh:
            sent.add(event.id)
            yield event.frame()
        quiet = 0.0 if fresh else quiet + _POLL_S
        if run.status.terminal or await request.is_disconnected():
            return
        if quiet >= _KEEPALIVE_S:
            quiet = 0.0
            yield ": keep-alive\n\n"
        await asyncio.sleep(_POLL_S)


@router.get(
    "/runs/{run_id}/events",
    responses={200: {"content": {"text/event-stream": {}}}, **problems(401, 403, 404, 422, 429)},
    response_class=StreamingResponse,
)
async def run_events(
    run_id: Annotated[str, RUN_ID],
    principal: Reader,
    request: Request,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=64)] = None,
) -> StreamingResponse:
    """Server-sent events, one per step change, until the run ends (``event: run`` last)."""
    journal = context_of(request).client.runtime.journal
    await run_in_threadpool(
        journal.get_run, run_id, principal.tenant_filter
    )  # 404 before streaming
    return StreamingResponse(
        _stream(request, run_id, _replay_from(last_event_id)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
