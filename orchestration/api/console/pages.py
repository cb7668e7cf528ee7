"""The console's routes: sign-in, the runs, one run, and the approvals.

Each page reads through the same journal calls as the API (the indexed, paged listing; one
run's steps), always narrowed to the viewer's tenant. ``?fragment=1`` answers only the part of
a page that changes, which the page's script swaps in when the live stream says something
moved.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from orchestration.api.console import views
from orchestration.api.console.auth import SESSION_COOKIE, Viewer, check_csrf, viewer
from orchestration.api.context import ApiContext, context_of
from orchestration.api.events import journal_events
from orchestration.api.keys import SESSION_HOURS, close_session, open_session, verify
from orchestration.api.runs import RUN_ID
from orchestration.errors import ApprovalConflict, ApprovalError, FeedbackError, RunRequestError
from orchestration.journal import RunFilter
from orchestration.journal.approvals import ApprovalDecision, ApprovalState, list_approvals
from orchestration.journal.listing import served_models_of_steps
from orchestration.journal.records import RunRecord, StepRecord
from orchestration.journal.tables import RunStatus, StepKind, utcnow
from orchestration.observability.content import content_recorded
from orchestration.observability.stats import parse_since
from orchestration.storable_text import escaped

__all__ = ["CSP", "error_page", "router", "static_files", "templates"]

_HERE = Path(__file__).parent
templates = Environment(
    loader=FileSystemLoader(_HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["duration"] = views.duration
templates.filters["money"] = views.money

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
"""Nothing but the console's own files runs or loads on its pages."""

_POLL_S = 1.0
_PER_PAGE = 25

router = APIRouter(prefix="/console", include_in_schema=False)
Seen = Annotated[Viewer, Depends(viewer)]


def static_files() -> StaticFiles:
    """The console's stylesheet and script, shipped in the package."""
    return StaticFiles(directory=_HERE / "static")


def _page(name: str, values: dict[str, Any], status: int = 200) -> HTMLResponse:
    html = templates.get_template(name).render(**values)
    return HTMLResponse(
        html,
        status_code=status,
        headers={
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "Cache-Control": "no-store",
        },
    )


_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    422: "Cannot do that",
    429: "Slow down",
    503: "Unavailable",
}


def error_page(status: int, detail: str) -> HTMLResponse:
    """An error as a page of the console (the API answers the same error as JSON)."""
    title = _TITLES.get(status, "Error")
    values = {"status": status, "title": title, "detail": detail, "viewer": None}
    return _page("error.html", values, status)


def _form(body: bytes) -> dict[str, str]:
    parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {name: values[0] for name, values in parsed.items()}


def _safe_next(target: str | None) -> str:
    # Only a path of the console itself: never another site.
    if target and target.startswith("/console/") and not target.startswith("//"):
        return target
    return "/console/runs"


@router.get("")
@router.get("/")
def home() -> RedirectResponse:
    """The console opens on the runs."""
    return RedirectResponse("/console/runs", status_code=303)


@router.get("/login")
def login_form(next: Annotated[str | None, Query(max_length=500)] = None) -> HTMLResponse:
    """The sign-in form: one field, an API key."""
    return _page("login.html", {"next": _safe_next(next), "error": None, "viewer": None})


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the key; on success set the session cookie and go where the person was going."""
    form = _form(await request.body())
    journal = context_of(request).client.runtime.journal
    principal = await run_in_threadpool(verify, journal, form.get("key", "").strip())
    target = _safe_next(form.get("next"))
    if principal is None:
        error = "That key is unknown or revoked. Fix: use a key from `chordline keys create`."
        return _page("login.html", {"next": target, "error": error, "viewer": None}, 401)
    token, _ = await run_in_threadpool(open_session, journal, principal)
    answer = RedirectResponse(target, status_code=303)
    answer.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/console",
    )
    return answer


@router.post("/logout")
async def logout(request: Request, who: Seen) -> RedirectResponse:
    """End the session."""
    check_csrf(who, _form(await request.body()).get("csrf"))
    token = request.cookies.get(SESSION_COOKIE, "")
    if token:
        await run_in_threadpool(close_session, context_of(request).client.runtime.journal, token)
    answer = RedirectResponse("/console/login", status_code=303)
    answer.delete_cookie(SESSION_COOKIE, path="/console")
    return answer


def _filters(
    agent: str | None, status: str | None, since: str | None, text: str | None
) -> tuple[RunFilter, str | None]:
    """The listing's filter, and an error to show for a value it cannot read."""
    error = None
    statuses: tuple[RunStatus, ...] = ()
    if status:
        try:
            statuses = (RunStatus(status),)
        except ValueError:
            error = f"status {escaped(status)!r} is not a run status"
    after = None
    if since:
        try:
            after = utcnow() - parse_since(since)
        except ValueError as exc:
            error = escaped(str(exc))
    where = RunFilter(
        agent=agent or None, statuses=statuses, since=after, text=escaped(text) if text else None
    )
    return where, error


@router.get("/runs")
def runs_page(
    *,
    request: Request,
    who: Seen,
    agent: Annotated[str | None, Query(max_length=128)] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
    since: Annotated[str | None, Query(max_length=16)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    tenant: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    fragment: bool = False,
) -> HTMLResponse:
    """The tenant's runs, newest first, a page at a time, with filters; live."""
    journal = context_of(request).client.runtime.journal
    where, error = _filters(agent, status, since, q)
    # The key's tenant always narrows the list; the operator may pick one.
    where = RunFilter(**{**where.__dict__, "tenant": who.tenant or tenant or None})
    try:
        found = journal.list_runs(where, per_page=_PER_PAGE, cursor=cursor)
    except RunRequestError as exc:
        raise HTTPException(422, str(exc)) from None
    filters = {
        "agent": agent or "",
        "status": status or "",
        "since": since or "",
        "q": q or "",
        "tenant": tenant or "",
    }
    more = None
    if found.next_cursor:
        more = "?" + urlencode(
            {**{k: v for k, v in filters.items() if v}, "cursor": found.next_cursor}
        )
    values = {
        "viewer": who,
        "runs": found.runs,
        "filters": filters,
        "statuses": [s.value for s in RunStatus],
        "error": error,
        "more": more,
        "paged": cursor is not None,
    }
    return _page("runs_rows.html" if fragment else "runs.html", values)


async def _changes(request: Request, changed: Any) -> AsyncIterator[str]:
    """``event: changed`` whenever ``changed()`` answers something new; ends when the client
    goes away or ``changed`` answers None (nothing more can change)."""
    last = await run_in_threadpool(changed)
    yield f"event: ready\ndata: {json.dumps(str(last))}\n\n"
    quiet = 0.0
    while not await request.is_disconnected():
        await asyncio.sleep(_POLL_S)
        now = await run_in_threadpool(changed)
        if now is None:
            yield 'event: changed\ndata: "end"\n\n'
            return
        if now != last:
            last = now
            quiet = 0.0
            yield f"event: changed\ndata: {json.dumps(str(now))}\n\n"
        else:
            quiet += _POLL_S
            if quiet >= 15:
                quiet = 0.0
                yield ": keep-alive\n\n"


def _event_stream(body: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/runs/live")
async def runs_live(request: Request, who: Seen) -> StreamingResponse:
    """Says when any of the tenant's runs changed (the runs page then reloads its rows)."""
    journal = context_of(request).client.runtime.journal
    return _event_stream(_changes(request, lambda: journal.last_change(who.tenant) or ""))


def _run_of(context: ApiContext, run_id: str, who: Viewer) -> RunRecord:
    return context.client.runtime.journal.get_run(run_id, who.tenant)


@router.get("/runs/{run_id}")
def run_page(
    run_id: Annotated[str, RUN_ID], request: Request, who: Seen, fragment: bool = False
) -> HTMLResponse:
    """One run: its header, its timeline to scale, every step's details; live."""
    return _run_page(context_of(request), run_id, who, fragment=fragment)


def _run_page(
    context: ApiContext,
    run_id: str,
    who: Viewer,
    *,
    fragment: bool = False,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    rt = context.client.runtime
    run = _run_of(context, run_id, who)
    steps = rt.journal.steps(run.id)
    from orchestration.workflows.store import child_runs

    children = child_runs(rt.journal, run.id) if run.kind == "workflow" else []
    now = utcnow()
    show_text = content_recorded(context.settings.observability, run.id)
    from orchestration.observability import redactor_for

    redact = redactor_for(context.settings).text
    sent = views.conversation(run, steps)
    details = {
        step.seq: views.step_detail(step, sent.get(step.seq, []), show_text, redact)
        for step in steps
    }
    template = context.settings.observability.trace_url_template
    from orchestration.feedback import feedback_of

    values = {
        "feedback": feedback_of(rt.journal, run.id),
        "feedback_error": error,
        "viewer": who,
        "run": run,
        "steps": steps,
        "details": details,
        "timeline": views.timeline(run, steps, now, children),
        "children": children,
        "served": served_models_of_steps(steps),
        "elapsed": ((run.finished_at or now) - run.created_at).total_seconds(),
        "trace_link": template.replace("{trace_id}", run.trace_id)
        if template and run.trace_id
        else None,
        "show_text": show_text,
        "parent": run.parent_id,
    }
    return _page("run_body.html" if fragment else "run.html", values, status)


@router.post("/runs/{run_id}/feedback")
async def give(run_id: Annotated[str, RUN_ID], request: Request, who: Seen) -> Response:
    """A thumbs up or down on the run's answer, with an optional comment; a person's later
    feedback on the run replaces their earlier one."""
    form = _form(await request.body())
    check_csrf(who, form.get("csrf"))
    who.require("submit", "approve")
    context = context_of(request)
    from orchestration.feedback import give_feedback

    score = {"up": 1.0, "down": -1.0}.get(form.get("score", ""))
    comment = form.get("comment", "").strip() or None
    try:
        if score is None:
            raise FeedbackError("score: choose thumbs up or down.", field="score")
        await run_in_threadpool(
            lambda: give_feedback(
                context.client.runtime.journal,
                run_id,
                tenant=who.tenant,
                giver=who.principal.key_name,
                score=score,
                comment=comment,
            )
        )
    except FeedbackError as exc:
        message = str(exc)
        return await run_in_threadpool(
            lambda: _run_page(context, run_id, who, status=422, error=message)
        )
    return RedirectResponse(f"/console/runs/{run_id}#feedback", status_code=303)


@router.get("/runs/{run_id}/live")
async def run_live(
    run_id: Annotated[str, RUN_ID], request: Request, who: Seen
) -> StreamingResponse:
    """Says when the run's steps moved (its page then reloads its body); ends with the run."""
    context = context_of(request)
    await run_in_threadpool(_run_of, context, run_id, who)  # 404 before streaming
    journal = context.client.runtime.journal

    def changed() -> str | None:
        run, events = journal_events(journal, run_id)
        mark = f"{run.status.value}:{events[-1].id if events else ''}:{len(events)}"
        return mark if not run.status.terminal else None

    return _event_stream(_changes(request, changed))


def _asking_turn(steps: list[StepRecord], seq: int) -> StepRecord | None:
    earlier = [s for s in steps if s.kind == StepKind.LLM and s.seq < seq]
    return earlier[-1] if earlier else None


def _approvals(
    context: ApiContext, who: Viewer, state: ApprovalState | None
) -> list[dict[str, Any]]:
    journal = context.client.runtime.journal
    found = list_approvals(journal, tenant=who.tenant, state=state, limit=200)
    runs: dict[str, RunRecord] = {}
    turns: dict[str, list[StepRecord]] = {}
    shown: list[dict[str, Any]] = []
    for view in found:
        if view.run_id not in runs:
            runs[view.run_id] = journal.get_run(view.run_id)
            turns[view.run_id] = journal.steps(view.run_id, upto=view.seq)
        turn = _asking_turn(turns[view.run_id], view.seq)
        reply = getattr(turn.result, "reply", None) if turn is not None else None
        shown.append(
            {
                "view": view,
                "run": runs[view.run_id],
                "arguments": views.pretty_json(view.arguments),
                "asked": getattr(reply, "text", None) if reply is not None else None,
                "turn": turn,
            }
        )
    return shown


def _approvals_page(
    context: ApiContext,
    who: Viewer,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    edits: dict[str, str] | None = None,
    fragment: bool = False,
) -> HTMLResponse:
    pending = _approvals(context, who, "pending")
    decided = [
        a
        for a in _approvals(context, who, None)
        if a["view"].state in ("approved", "rejected", "expired")
    ]
    decided.sort(key=_decided_at, reverse=True)
    values = {
        "viewer": who,
        "pending": pending,
        "decided": decided[:50],
        "errors": errors or {},
        "edits": edits or {},
    }
    return _page("approvals_body.html" if fragment else "approvals.html", values, status)


def _decided_at(shown: dict[str, Any]) -> datetime:
    view = shown["view"]
    decided: datetime | None = view.decision.decided_at if view.decision else None
    return decided or view.requested_at


@router.get("/approvals")
def approvals_page(request: Request, who: Seen, fragment: bool = False) -> HTMLResponse:
    """Every approval of the tenant waiting for a person, oldest first; then recent decisions;
    live."""
    return _approvals_page(context_of(request), who, fragment=fragment)


async def _refused(
    context: ApiContext, who: Viewer, approval_id: str, message: str, edited: str
) -> HTMLResponse:
    def page() -> HTMLResponse:
        return _approvals_page(
            context,
            who,
            status=422,
            errors={approval_id: message},
            edits={approval_id: edited} if edited else {},
        )

    return await run_in_threadpool(page)


@router.post("/approvals/{approval_id}")
async def decide(approval_id: str, request: Request, who: Seen) -> Response:
    """Approve, approve with edited arguments, or reject with a reason; errors shown inline."""
    form = _form(await request.body())
    check_csrf(who, form.get("csrf"))
    who.require("approve")
    context = context_of(request)
    approving = form.get("decision") == "approve"
    edited = form.get("arguments", "").strip()
    original = form.get("original", "").strip()
    arguments = None
    if approving and edited and edited != original:
        try:
            arguments = json.dumps(json.loads(edited))
        except ValueError as exc:
            message = f"the arguments are not JSON ({exc}). Fix: correct them, or reset."
            return await _refused(context, who, approval_id, message, edited)
    verdict = ApprovalDecision(
        approved=approving,
        reviewer=who.principal.key_name,
        reason=escaped(form.get("reason", "")[:2000]),
        arguments=arguments,
    )
    try:
        await run_in_threadpool(
            context.client.decide_approval, approval_id, verdict, tenant=who.tenant
        )
    except (ApprovalError, ApprovalConflict) as exc:
        return await _refused(context, who, approval_id, str(exc), edited)
    return RedirectResponse(f"/console/approvals#decided-{approval_id}", status_code=303)
