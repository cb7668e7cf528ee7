"""The FastAPI app: the routers, and one error mapping so nothing a client sends is a 500.

The API process only reads and writes the journal and enqueues; it never runs a step.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from orchestration.api import approvals, events, feedback, health, runs
from orchestration.api.context import ApiContext
from orchestration.api.headers import HeaderLimit
from orchestration.api.limits import TenantLimits
from orchestration.api.schemas import DecisionOut
from orchestration.config import Settings
from orchestration.errors import (
    AgentNotFound,
    ApprovalConflict,
    ApprovalError,
    ApprovalNotFound,
    BackendUnreachable,
    ChordlineError,
    FeedbackError,
    RunNotFound,
    RunRequestError,
    RunRequestTooLarge,
)
from orchestration.journal import STATEMENT_FAILED, VALUE_REFUSED, open_journal
from orchestration.journal.approvals import ApprovalDecision
from orchestration.storable_text import FIX, escaped

if TYPE_CHECKING:
    from orchestration.client import Client

__all__ = ["create_app"]

log = logging.getLogger("chordline.api")

Handler = Callable[[Request, Exception], Awaitable[Response]]

# Validation errors about text the journal cannot store (the contract's, and pydantic's own when
# a length check meets a lone surrogate): their fix is to send other text, not another type.
_TEXT_ERRORS: dict[str, str | None] = {
    "unstorable_text": None,
    "string_unicode": "is not valid Unicode text: it holds a lone surrogate",
}


def _status_of(exc: ChordlineError) -> int:
    """The HTTP status of each of our errors (most specific first)."""
    table: tuple[tuple[type[ChordlineError], int], ...] = (
        (RunNotFound, 404),
        (ApprovalNotFound, 404),
        (AgentNotFound, 404),
        (ApprovalConflict, 409),
        (RunRequestTooLarge, 413),
        (RunRequestError, 422),
        (ApprovalError, 422),
        (FeedbackError, 422),
        (BackendUnreachable, 503),
    )
    return next((status for kind, status in table if isinstance(exc, kind)), 400)


def _chordline_error(settings_agents: Callable[[], list[str]]) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, ChordlineError):
            raise exc
        status = _status_of(exc)
        body: dict[str, object] = {"detail": str(exc)}
        if isinstance(exc, AgentNotFound):
            known = ", ".join(settings_agents()) or "none"
            body["detail"] = f"agent: unknown agent. Fix: use one of the known agents: {known}."
            body["known_agents"] = settings_agents()
        if isinstance(exc, ApprovalConflict) and isinstance(exc.decision, ApprovalDecision):
            body["decision"] = DecisionOut.of(exc.decision).model_dump(mode="json")
        if status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, exc)
        if _for_people(request):
            return _console_error(status, str(body["detail"]))
        return JSONResponse(body, status_code=status)

    return handle


def _for_people(request: Request) -> bool:
    return request.url.path.startswith("/console")


def _console_error(status: int, detail: str) -> Response:
    from orchestration.api.console.pages import error_page

    return error_page(status, detail)


async def _http_error(request: Request, exc: Exception) -> Response:
    """The console's errors as a page; the API's as JSON, as FastAPI answers them."""
    if not isinstance(exc, HTTPException):
        raise exc
    if _for_people(request) and exc.status_code != 401:
        return _console_error(exc.status_code, str(exc.detail))
    return await http_exception_handler(request, exc)


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    """422 naming each field (``input``, ``max_usd``, ``Idempotency-Key``) and what it takes."""
    if not isinstance(exc, RequestValidationError):
        raise exc
    errors = [
        {
            # A field's name may be the caller's text (an unknown key): escaped, so the answer
            # can always be encoded.
            "field": escaped(".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0])),
            "msg": _TEXT_ERRORS.get(e["type"]) or e["msg"],
            "type": e["type"],
        }
        for e in exc.errors()
    ]
    listed = "; ".join(f"{e['field']}: {e['msg']}" for e in errors)
    fix = (
        FIX
        if any(e["type"] in _TEXT_ERRORS for e in errors)
        else "send each field as /docs describes it"
    )
    return JSONResponse(
        {"detail": f"invalid request: {listed}. Fix: {fix}.", "errors": errors},
        status_code=422,
    )


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    # A value the database refuses (a NUL byte, a string over a column's size): the client's.
    log.info(
        "%s %s: value refused by the journal (%s)",
        request.method,
        request.url.path,
        type(exc).__name__,
    )
    return JSONResponse(
        {"detail": "a value in the request cannot be stored. Fix: send plain text values."},
        status_code=422,
    )


async def _journal_down(request: Request, exc: Exception) -> JSONResponse:
    log.warning("%s %s: journal unreachable", request.method, request.url.path)
    return JSONResponse(
        {"detail": "the journal database is unreachable. Fix: retry shortly."},
        status_code=503,
        headers={"Retry-After": "5"},
    )


def create_app(settings: Settings, client: Client | None = None) -> FastAPI:
    """The HTTP API over the journal named by ``settings``.

    Args:
        settings: the settings (journal, broker, limits).
        client: a client to use (tests); by default the first request that needs one builds
            it from ``settings``.

    Raises:
        BackendUnreachable: the journal does not answer.
        JournalError: the journal's schema is behind (run ``chordline db upgrade``).
    """
    if client is None:
        # Refuse to start on a journal that is down or behind; the client (agents, Celery
        # producer) is built by the first request that needs it, not before /healthz answers.
        journal = open_journal(settings.journal_url)
        journal.attach()
        journal.dispose()
    context = ApiContext(settings, TenantLimits(settings.api, settings.redis_url), client)
    app = FastAPI(
        title="Chordline",
        version="1",
        description=(
            "Start, watch, approve, cancel and give feedback on agent runs. Keys: "
            "`chordline keys create`."
        ),
    )
    app.state.chordline = context

    def agent_names() -> list[str]:
        # Read when an unknown agent is named, so building the app loads no agents.
        return context.client.runtime.registry.names()

    from orchestration.api import console

    app.add_exception_handler(ChordlineError, _chordline_error(agent_names))
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(console.LoginRequired, console.login_redirect)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(VALUE_REFUSED, _data_error)
    app.add_exception_handler(STATEMENT_FAILED, _journal_down)
    for router in (
        health.router,
        runs.router,
        events.router,
        feedback.router,
        approvals.router,
        console.router,
    ):
        app.include_router(router)
    app.mount("/console/static", console.static_files(), name="console-static")
    app.add_middleware(HeaderLimit)
    return app
