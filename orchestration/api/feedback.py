"""``POST /v1/runs/{id}/feedback``: a thumbs up or down, or a grade, on a run by the key's name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from orchestration.api.auth import require
from orchestration.api.context import context_of
from orchestration.api.keys import Principal
from orchestration.api.runs import RUN_ID
from orchestration.api.schemas import FeedbackIn, FeedbackOut, problems
from orchestration.feedback import give_feedback

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["runs"])


@router.post(
    "/runs/{run_id}/feedback",
    status_code=201,
    response_model=FeedbackOut,
    responses={
        200: {"model": FeedbackOut, "description": "the key's earlier feedback, replaced"},
        **problems(401, 403, 404, 422, 429),
    },
)
def post_feedback(
    run_id: Annotated[str, RUN_ID],
    body: FeedbackIn,
    principal: Annotated[Principal, Depends(require("submit", "approve"))],
    request: Request,
    response: Response,
) -> FeedbackOut:
    """Give feedback on a run as the key's name: 201 the first time, 200 when it replaces the
    key's earlier feedback on that run."""
    journal = context_of(request).client.runtime.journal
    stored = give_feedback(
        journal,
        run_id,
        tenant=principal.tenant_filter,
        giver=principal.key_name,
        score=body.score,
        comment=body.comment,
        labels=body.labels,
    )
    if stored.updated_at != stored.created_at:
        response.status_code = 200
    return FeedbackOut.of(stored)
