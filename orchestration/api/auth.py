"""``Authorization: Bearer <key>`` on every ``/v1`` route, the tenant's request rate, then the
scope the route needs (:func:`require`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orchestration.api.context import context_of
from orchestration.api.keys import Principal, verify
from orchestration.api.scopes import SCOPES

__all__ = ["Approver", "Caller", "Reader", "Submitter", "caller", "require"]

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


def require(scope: str, *alternatives: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller's principal when its key has ``scope`` (or one of
    ``alternatives``; ``admin`` implies every scope).

    Use it as ``principal: Annotated[Principal, Depends(require("approve"))]``.

    Raises:
        ValueError: a name is not a scope (a mistake in a route, found at import).
    """
    wanted = (scope, *alternatives)
    unknown = [name for name in wanted if name not in SCOPES]
    if unknown:
        raise ValueError(f"{unknown} are not scopes; the scopes are {', '.join(SCOPES)}")
    named = " or ".join(f"`{name}`" for name in wanted)
    fix = (
        f"Fix: use a key with the `{scope}` scope (`chordline keys create --tenant T --name N "
        f"--scope {scope}`)."
    )

    async def scoped(principal: Annotated[Principal, Depends(caller)]) -> Principal:
        """403 unless the key has one of the scopes the route needs."""
        if not any(principal.allows(name) for name in wanted):
            raise HTTPException(403, f"this key lacks the {named} scope. {fix}")
        return principal

    return scoped


Reader = Annotated[Principal, Depends(require("read"))]
"""The caller of a route that reads runs, steps, events or approvals."""

Submitter = Annotated[Principal, Depends(require("submit"))]
"""The caller of a route that starts or cancels a run."""

Approver = Annotated[Principal, Depends(require("approve"))]
"""The caller of a route that decides an approval."""
