"""The composition root: the runtime and its middleware chain, built from the settings.

This is the one module that knows every part a step runs with. It sits above all of them (the
journal, the agents, the providers, rollouts, memory, budgets, observability, the reducer's own
middlewares), so none of them imports another to assemble itself: :class:`~orchestration.runtime.
Runtime` below holds handles only. Adding a middleware to every worker is one line in
:func:`standard_middleware`; a process adds its own (a worker's sweepers) through
:func:`open_runtime`'s ``extra``.
"""

from __future__ import annotations

import dataclasses
import functools

from orchestration.agents import load_registry
from orchestration.budgets import RunBudget, TenantDayBudget, WorkflowBudget, open_ledger
from orchestration.config import Settings
from orchestration.journal import Journal, load_driver, open_journal
from orchestration.llm import BreakerBoard, ProviderPool
from orchestration.memory import MemoryMiddleware
from orchestration.observability import observability_middleware, redactor_for
from orchestration.reducer import HeartbeatMiddleware, LeaseKeeper, ResponseCacheMiddleware
from orchestration.rollouts import Router
from orchestration.runtime import Middleware, MiddlewareChain, Runtime, RuntimeSettings
from orchestration.workflows import store as workflow_store

__all__ = ["open_runtime", "preload_runtime", "runtime_settings", "standard_middleware"]


def open_runtime(settings: Settings, *extra: Middleware) -> Runtime:
    """Attach to the journal, load the agents named by ``settings`` and compose the step
    middleware: the standard ones from the settings, then ``extra`` (innermost).

    Args:
        settings: the settings.
        extra: the process's own middleware (a worker's sweepers and start-up checks, a
            test's recorder), innermost.
    """
    journal = open_journal(settings.journal_url)
    return Runtime(
        settings=runtime_settings(settings),
        journal=journal,
        registry=load_registry(settings.agent_dirs),
        providers=ProviderPool(settings.llm, settings.agent_dirs),
        breakers=BreakerBoard(settings.llm, settings.redis_url),
        router=Router(settings.rollouts, journal),
        middleware=MiddlewareChain((*standard_middleware(settings, journal), *extra)),
    )


def runtime_settings(settings: Settings) -> RuntimeSettings:
    """The groups of ``settings`` that a step reads, as the runtime holds them."""
    return RuntimeSettings(
        **{f.name: getattr(settings, f.name) for f in dataclasses.fields(RuntimeSettings)}
    )


def preload_runtime(settings: Settings) -> None:
    """Load the code :func:`open_runtime` will need, opening no connection: the agents and the
    journal's database driver.

    A worker calls it before it forks its pool: the children share what the parent loaded
    instead of each loading it again, and no socket crosses the fork.
    """
    load_registry(settings.agent_dirs)
    load_driver(settings.journal_url)


def standard_middleware(settings: Settings, journal: Journal) -> list[Middleware]:
    """The middleware every worker runs, outermost first.

    Tracing, metrics and the logs' run context (each only when configured) wrap everything
    else; then the session's memory (added to the request, so the budgets see it; recorded on
    the run), the tenant's day (whose reservation lives until the step's outcome is journaled),
    the run's budgets, its workflow's budgets, the LLM response cache when
    ``CHORDLINE_LLM_CACHE`` is on, and the lease heartbeat around the call itself.
    """
    chain: list[Middleware] = [
        *observability_middleware(settings.observability, redactor_for(settings)),
        MemoryMiddleware(settings.memory, journal, settings.redis_url),
        TenantDayBudget(
            settings.budgets,
            journal,
            open_ledger(settings.redis_url, settings.llm, settings.lease_seconds),
        ),
        RunBudget(),
        WorkflowBudget(journal, functools.partial(workflow_store.totals, journal)),
    ]
    if settings.llm_cache:
        ttl, cap = settings.llm_cache_ttl_seconds, settings.llm_max_output_tokens
        chain.append(ResponseCacheMiddleware(journal, ttl, cap))
    chain.append(HeartbeatMiddleware(LeaseKeeper(journal, settings.lease_seconds)))
    return chain
