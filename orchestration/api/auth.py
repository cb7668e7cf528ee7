"""``Authorization: Bearer <key>`` on every ``/v1`` route, then the tenant's request rate."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orchestration.api.context import context_of
from orchestration.api.keys import Principal, verify

__all__ = ["Caller", "caller"]

_bearer = HTTPBearer(auto_error=False, description="an API key from `chordline keys create`")

_FIX = "Fix: send `Authorization: Bearer <key>` with a key from `chordline keys create`."


async def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller's principal, after the key check and the rate limit.

    Raises:
        HTTPException: 401 for a missing, unknown or revoked key; 429 over the tenant's rate.
    """
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise HTTPException(401, f"missing API key. {_FIX}", headers=challenge)
    context = context_of(request)
    principal = await run_in_threadpool(
        verify, context.client.runtime.journal, credentials.credentials
    )
    if principal is None:
        raise HTTPException(401, f"invalid or revoked API key. {_FIX}", headers=challenge)
    limited = await run_in_threadpool(context.limits.hit, principal.tenant)
    if limited is not None:
        raise HTTPException(
            429,
            f"{limited.reason}. Fix: retry after {limited.retry_after_s}s.",
            headers={"Retry-After": str(limited.retry_after_s)},
        )
    return principal


Caller = Annotated[Principal, Depends(caller)]
