"""``/v1/runs``: submit (idempotently), read, list, follow and cancel a tenant's runs."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, Response

from orchestration.api.auth import Reader, Submitter
from orchestration.api.context import ApiContext, context_of
from orchestration.api.keys import Principal
from orchestration.api.schemas import RunOut, RunPage, StepOut, problems
from orchestration.api.scopes import OPERATOR_TENANT
from orchestration.errors import RunNotFound, RunRequestError
from orchestration.feedback import FeedbackCounts, feedback_counts, feedback_of
from orchestration.journal import RunFilter
from orchestration.journal.records import RunRecord
from orchestration.journal.tables import RunStatus, utcnow
from orchestration.run_request import RunRequest, check_sizes, request_hash

__all__ = ["RUN_ID", "router", "run_out"]

log = logging.getLogger("chordline.api")

router = APIRouter(prefix="/v1", tags=["runs"])

# Run ids are uuids (or a Celery task id); anything else cannot name a run.
RUN_ID = Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"

_ERRORS = problems(401, 403, 404, 409, 413, 422, 429)


def run_out(context: ApiContext, run: RunRecord, counts: FeedbackCounts | None = None) -> RunOut:
    """A run with its metadata, as the API shows it: with every giver's feedback, or (in a
    listing, ``counts`` given) only how many scored it up and down."""
    journal = context.client.runtime.journal
    metadata = journal.run_extras(run.id).metadata
    if counts is not None:
        return RunOut.of(run, metadata, counts=counts)
    return RunOut.of(run, metadata, feedback=feedback_of(journal, run.id))


async def _within_size(request: Request, principal: Submitter) -> None:
    """413 for an input or metadata over its size, before the schema check runs."""
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return  # not JSON: the schema check answers 422
    if isinstance(body, dict):
        check_sizes(body, context_of(request).client.settings.api)


@router.post(
    "/runs",
    status_code=201,
    response_model=RunOut,
    responses={200: {"model": RunOut, "description": "an earlier run with this key"}, **_ERRORS},
    dependencies=[Depends(_within_size)],
)
def create_run(
    body: RunRequest,
    principal: Submitter,
    request: Request,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", pattern=_KEY_PATTERN)
    ] = None,
) -> RunOut:
    """Start a run of an agent for the key's tenant; 201 with the run.

    An operator's key (tenant ``*``) names the run's tenant in the body. With an
    ``Idempotency-Key`` the same key and body answer the same run (200); the same key with
    another body answers 409.
    """
    context = context_of(request)
    tenant = _tenant_of_new_run(principal, body)
    request_digest = request_hash(body.model_copy(update={"tenant": tenant}))
    journal = context.client.runtime.journal
    if idempotency_key is not None:
        earlier = journal.run_by_idempotency_key(tenant, idempotency_key)
        if earlier is not None:
            response.status_code = 200
            return _replayed(context, earlier, request_digest)
    run, created = _admit(context, body, tenant, idempotency_key, request_digest)
    if not created:
        response.status_code = 200
        return _replayed(context, run, request_digest)
    # Celery is loaded by the first run started, not at the API's start.
    from orchestration import canvas

    try:
        canvas.start_run(context.client.app, run.id)
    except Exception as exc:  # the broker is away: the sweeper starts the journaled run later
        log.warning(
            "run %s journaled but not enqueued (%s); the sweeper will start it",
            run.id,
            type(exc).__name__,
        )
    return run_out(context, run)


def _tenant_of_new_run(principal: Principal, body: RunRequest) -> str:
    """The tenant a new run belongs to: the key's, or the one an operator's key names."""
    if principal.tenant != OPERATOR_TENANT:
        if body.tenant not in (None, principal.tenant):
            raise RunRequestError(
                f"tenant: this key belongs to tenant {principal.tenant!r}. Fix: leave tenant out.",
                field="tenant",
            )
        return principal.tenant
    if not principal.operator:
        raise HTTPException(403, "this key lacks the `admin` scope. Fix: use a tenant's key.")
    if body.tenant is None or body.tenant == OPERATOR_TENANT:
        raise RunRequestError(
            "tenant: an operator's key (tenant '*') has no tenant of its own to run for. Fix: "
            'name the run\'s tenant in the body, e.g. "tenant": "acme".',
            field="tenant",
        )
    return body.tenant


def _replayed(context: ApiContext, run: RunRecord, digest: str) -> RunOut:
    if context.client.runtime.journal.run_extras(run.id).request_hash != digest:
        raise HTTPException(
            409,
            f"Idempotency-Key was used for run {run.id} with another body. Fix: send a new "
            "key for a new run, or the same body to get that run back.",
        )
    return run_out(context, run)


def _admit(
    context: ApiContext, body: RunRequest, tenant: str, key: str | None, digest: str
) -> tuple[RunRecord, bool]:
    """Create the run within the tenant's limits; (run, False) when a concurrent request with
    the same Idempotency-Key created it first."""
    rt = context.client.runtime
    from orchestration.runtime import Limits  # loaded with the client, on the first run

    _check_daily_cap(context, tenant)
    with context.limits.admitting(tenant, lambda: rt.journal.live_runs(tenant)) as limited:
        if limited is not None:
            raise HTTPException(
                429,
                f"{limited.reason}. Fix: retry after {limited.retry_after_s}s.",
                headers={"Retry-After": str(limited.retry_after_s)},
            )
        try:
            run = rt.create_run(
                body.agent,
                body.input,
                tenant=tenant,
                limits=Limits(body.max_steps, body.max_tokens, body.max_usd),
                metadata=body.metadata,
                idempotency=(key, digest) if key else None,
                session=body.session,
            )
            return run, True
        except RunNotFound:
            # Another request with the same Idempotency-Key created its run first.
            earlier = rt.journal.run_by_idempotency_key(tenant, key) if key else None
            if earlier is None:
                raise
            return earlier, False


def _check_daily_cap(context: ApiContext, tenant: str) -> None:
    cap = context.client.settings.budgets.tenant_daily_cap(tenant)
    if cap is None:
        return
    now = utcnow()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    spent = context.client.runtime.journal.tenant_spend_since(tenant, midnight)
    if spent >= cap:
        retry = int((midnight + timedelta(days=1) - now).total_seconds()) + 1
        raise HTTPException(
            429,
            f"tenant {tenant} has spent ${spent} of its ${cap} daily budget (UTC day). Fix: "
            f"retry after {retry}s, or raise CHORDLINE_TENANT_DAILY_USD_OVERRIDES for it.",
            headers={"Retry-After": str(retry)},
        )


@router.get("/runs/{run_id}", response_model=RunOut, responses=_ERRORS)
def get_run(run_id: Annotated[str, RUN_ID], principal: Reader, request: Request) -> RunOut:
    """A run: status, answer, error, totals, agent version, model pin and feedback."""
    context = context_of(request)
    return run_out(context, context.client.runtime.journal.get_run(run_id, principal.tenant_filter))


@router.get("/runs/{run_id}/steps", response_model=list[StepOut], responses=_ERRORS)
def get_steps(run_id: Annotated[str, RUN_ID], principal: Reader, request: Request) -> list[StepOut]:
    """The run's timeline: every step in order."""
    journal = context_of(request).client.runtime.journal
    journal.get_run(run_id, principal.tenant_filter)
    return [StepOut.of(step) for step in journal.steps(run_id)]


@router.get("/runs", response_model=RunPage, responses=_ERRORS)
def list_runs(
    *,
    principal: Reader,
    request: Request,
    status: RunStatus | None = None,
    agent: Annotated[str | None, Query(max_length=128, pattern=r"^[\w.-]+$")] = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> RunPage:
    """The tenant's runs (an operator's key: every tenant's), newest first, each with its
    feedback counts; pass ``next_cursor`` back as ``cursor`` for more."""
    context = context_of(request)
    bounds = [t for t in (created_after, created_before) if t is not None]
    if any(t.year < 1900 or t.year > 9000 for t in bounds):
        raise RunRequestError("created_after/created_before: out of range. Fix: use ISO 8601.")
    # The key's tenant always narrows the listing: a tenant never sees another's runs (only an
    # operator's key, tenant '*' with admin, lists every tenant's).
    where = RunFilter(
        tenant=principal.tenant_filter,
        agent=agent,
        statuses=() if status is None else (status,),
        created_after=created_after,
        created_before=created_before,
    )
    journal = context.client.runtime.journal
    found = journal.list_runs(where, per_page=limit, cursor=cursor)
    counts = feedback_counts(journal, [run.id for run in found.runs])
    return RunPage(
        runs=[run_out(context, run, counts[run.id]) for run in found.runs],
        next_cursor=found.next_cursor,
    )


@router.post("/runs/{run_id}/cancel", response_model=RunOut, responses=_ERRORS)
def cancel_run(run_id: Annotated[str, RUN_ID], principal: Submitter, request: Request) -> RunOut:
    """Cancel a run: steps not started are skipped; a step in flight finishes, nothing follows."""
    context = context_of(request)
    journal = context.client.runtime.journal
    tenant = principal.tenant_filter
    if not context.client.cancel(run_id, reason=f"by {principal.key_name}", tenant=tenant):
        run = journal.get_run(run_id, tenant)
        raise HTTPException(
            409, f"run {run_id} had already ended ({run.status.value}); nothing changed."
        )
    return run_out(context, journal.get_run(run_id, tenant))
