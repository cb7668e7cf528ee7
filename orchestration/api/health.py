"""``/healthz`` (the process is up) and ``/readyz`` (broker and journal reachable)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from orchestration.api.context import context_of
from orchestration.errors import BackendUnreachable

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "a backing service is unreachable"}})
def readyz(request: Request) -> JSONResponse:
    """The broker and the journal answer; else 503 naming which does not."""
    client = context_of(request).client
    failures: dict[str, str] = {}
    checks = {"journal": client.runtime.journal.ping, "broker": client.ping_broker}
    for name, check in checks.items():
        try:
            check()
        except BackendUnreachable as exc:
            failures[name] = str(exc)
    if failures:
        detail = "not ready: " + ", ".join(f"{name} unreachable" for name in failures)
        return JSONResponse({"detail": detail, "failures": failures}, status_code=503)
    return JSONResponse({"status": "ready", "journal": "ok", "broker": "ok"})
