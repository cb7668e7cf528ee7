"""What every request handler shares: the client (journal, agents, producer) and the limits."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from orchestration.api.limits import TenantLimits
from orchestration.client import Client

__all__ = ["ApiContext", "context_of"]


@dataclass(frozen=True)
class ApiContext:
    """The API process's runtime: it reads and writes the journal and enqueues, nothing more."""

    client: Client
    limits: TenantLimits


def context_of(request: Request) -> ApiContext:
    """The context the app was built with."""
    context: ApiContext = request.app.state.chordline
    return context
