"""``/v1/approvals``: list the calls waiting for a person and decide each one on its own."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request

from orchestration.api.auth import Approver, Reader
from orchestration.api.context import context_of
from orchestration.api.schemas import ApprovalOut, ApprovalPage, DecisionIn, problems
from orchestration.journal.approvals import ApprovalDecision, list_approvals

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["approvals"])

_ERRORS = problems(401, 403, 404, 409, 422, 429)
_ID = Path(min_length=3, max_length=80, pattern=r"^[A-Za-z0-9._:-]+$")


@router.get("/approvals", response_model=ApprovalPage, responses=_ERRORS)
def get_approvals(
    *,
    principal: Reader,
    request: Request,
    status: Literal["pending", "approved", "rejected", "expired", "closed", "any"] = "pending",
    run_id: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ApprovalPage:
    """The tenant's approvals (an operator's key: every tenant's), oldest first: by default
    those waiting for a decision."""
    journal = context_of(request).client.runtime.journal
    views = list_approvals(
        journal,
        tenant=principal.tenant_filter,
        state=None if status == "any" else status,
        run_id=run_id,
        limit=limit,
    )
    return ApprovalPage(approvals=[ApprovalOut.of(view) for view in views])


@router.post("/approvals/{approval_id}", response_model=ApprovalOut, responses=_ERRORS)
def decide(
    approval_id: Annotated[str, _ID], body: DecisionIn, principal: Approver, request: Request
) -> ApprovalOut:
    """Approve, approve with edited arguments, or reject with a reason, one approval.

    The run moves on when every approval of its turn is decided. Deciding twice answers 409
    with the first decision; deciding on an ended run answers 409 saying so.
    """
    client = context_of(request).client
    verdict = ApprovalDecision(
        approved=body.decision == "approve",
        reviewer=principal.key_name,
        reason=body.reason,
        arguments=None if body.arguments is None else json.dumps(body.arguments),
    )
    decided = client.decide_approval(approval_id, verdict, tenant=principal.tenant_filter)
    return ApprovalOut.of(decided.approval)
