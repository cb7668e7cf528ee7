"""What every request handler shares: the client (journal, agents, producer) and the limits."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from fastapi import Request

from orchestration.api.limits import TenantLimits
from orchestration.config import Settings

if TYPE_CHECKING:
    from orchestration.client import Client

__all__ = ["ApiContext", "context_of"]


class ApiContext:
    """The API process's runtime: it reads and writes the journal and enqueues, nothing more.

    The client (the agents, the Celery producer) is built by the first request that needs it,
    so the process answers ``/healthz`` without loading them.

    Args:
        settings: the process's settings.
        limits: the tenants' concurrency and rate limits.
        client: a client to use (tests); one is built from ``settings`` on first use otherwise.
    """

    def __init__(self, settings: Settings, limits: TenantLimits, client: Client | None = None):
        self.settings = settings
        self.limits = limits
        self._client = client
        self._building = threading.Lock()

    @property
    def client(self) -> Client:
        """The client, built once (handlers run on a thread pool, so under a lock)."""
        if self._client is None:
            with self._building:
                if self._client is None:
                    from orchestration.client import Client

                    self._client = Client(self.settings)
        return self._client


def context_of(request: Request) -> ApiContext:
    """The context the app was built with."""
    context: ApiContext = request.app.state.chordline
    return context
