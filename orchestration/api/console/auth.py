"""Who is looking: a session cookie set at sign-in, or ``Authorization: Bearer <key>``.

The cookie is HttpOnly and SameSite=Strict and holds a random token whose digest the API's
store keeps. Every form of a signed-in page carries the session's CSRF token, and a POST whose
token does not match is refused; a request with a bearer key sends no cookie a browser could
replay, so it needs none.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from orchestration.api.context import context_of
from orchestration.api.keys import Principal, session_principal, verify

__all__ = ["SESSION_COOKIE", "LoginRequired", "Viewer", "check_csrf", "login_redirect", "viewer"]

SESSION_COOKIE = "chordline_session"


@dataclass(frozen=True)
class Viewer:
    """A signed-in person: the key's principal, and the session's CSRF token (None when the
    request came with a bearer key)."""

    principal: Principal
    csrf: str | None

    @property
    def tenant(self) -> str | None:
        """The tenant whose runs are shown: the key's, or None (every tenant) for the
        operator's admin key of tenant ``*``."""
        return self.principal.tenant_filter

    def may(self, scope: str) -> bool:
        """True when the key has ``scope`` (``admin`` has them all)."""
        return self.principal.allows(scope)

    def require(self, scope: str, *alternatives: str) -> None:
        """Refuse the request unless the key has ``scope`` or one of ``alternatives``.

        Raises:
            HTTPException: 403 naming the scope.
        """
        if not any(self.may(s) for s in (scope, *alternatives)):
            named = " or ".join(f"`{s}`" for s in (scope, *alternatives))
            raise HTTPException(
                403,
                f"this key lacks the {named} scope. Fix: sign in with a key that has it "
                f"(`chordline keys create --tenant T --name N --scope {scope}`).",
            )


class LoginRequired(Exception):
    """No session and no key: the app answers with a redirect to the sign-in page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def login_redirect(request: Request, exc: Exception) -> RedirectResponse:
    """The answer to :class:`LoginRequired`: 303 to ``/console/login?next=<the page>``."""
    target = exc.next_url if isinstance(exc, LoginRequired) else "/console/runs"
    return RedirectResponse(f"/console/login?next={quote(target, safe='/')}", status_code=303)


async def viewer(request: Request) -> Viewer:
    """The person behind the request.

    Raises:
        LoginRequired: no live session and no valid bearer key.
        HTTPException: 401 for a bearer key that is unknown or revoked; 403 for a key
            without the ``read`` scope.
    """
    journal = context_of(request).client.runtime.journal
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() == "bearer" and presented:
        principal = await run_in_threadpool(verify, journal, presented.strip())
        if principal is None:
            raise HTTPException(401, "invalid or revoked API key", {"WWW-Authenticate": "Bearer"})
        seen = Viewer(principal, None)
    else:
        token = request.cookies.get(SESSION_COOKIE, "")
        found = await run_in_threadpool(session_principal, journal, token) if token else None
        if found is None:
            raise LoginRequired(request.url.path)
        seen = Viewer(*found)
    seen.require("read")  # every page shows runs
    return seen


def check_csrf(who: Viewer, presented: str | None) -> None:
    """Refuse a signed-in POST whose form token is not the session's.

    Raises:
        HTTPException: 403 naming the fix.
    """
    if who.csrf is None:
        return
    if not presented or not hmac.compare_digest(presented, who.csrf):
        raise HTTPException(
            403, "the form's CSRF token does not match this session. Fix: reload the page."
        )
