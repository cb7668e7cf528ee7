"""The per-process runtime context: everything a step needs besides its ids, passed explicitly.

One :class:`Runtime` holds the settings, the journal, the agents, the providers (each built once),
the circuit breakers, the tenant spend ledger and the step middleware. Nothing of it lives in a
module-level cache, so two runtimes with different settings never share a provider or a breaker.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from orchestration.agents import AgentRegistry, load_registry
from orchestration.agents.tool_threads import ToolThreads
from orchestration.agents.version_store import VersionStore
from orchestration.config import Settings
from orchestration.errors import ConfigError
from orchestration.journal import Journal, open_journal
from orchestration.journal.records import NewRun, RunRecord
from orchestration.llm.breakers import BreakerBoard
from orchestration.llm.deployments import resolve_chain
from orchestration.llm.providers import ProviderPool
from orchestration.observability.trace_context import trace_id_for
from orchestration.reducer.middleware import Middleware, MiddlewareChain
from orchestration.reducer.spend import Ledger, NullLedger, open_ledger
from orchestration.rollouts.routing import Router

__all__ = ["Limits", "Runtime", "standard_middleware"]


@dataclass(frozen=True)
class Limits:
    """Per-submit overrides of an agent's default budgets (None keeps the default)."""

    max_steps: int | None = None
    max_tokens: int | None = None
    max_usd: Decimal | None = None


@dataclass(frozen=True)
class Runtime:
    """Everything a step needs besides its ids.

    Attributes:
        settings: the settings.
        journal: the run journal.
        registry: the agents.
        providers: the LLM providers, each ``provider:model`` built once.
        breakers: one circuit breaker per deployment (shared through Redis when attached).
        ledger: the tenants' in-flight spend reservations (null without Redis).
        middleware: what wraps every step, model call and tool call.
        tool_threads: the threads tool calls run in (reused; see ``agents.tool_threads``).
    """

    settings: Settings
    journal: Journal
    registry: AgentRegistry
    providers: ProviderPool
    breakers: BreakerBoard
    ledger: Ledger = field(default_factory=NullLedger)
    middleware: MiddlewareChain = field(default_factory=MiddlewareChain)
    tool_threads: ToolThreads = field(default_factory=ToolThreads)

    @classmethod
    def open(cls, settings: Settings, *extra: Middleware) -> Runtime:
        """Attach to the journal, load the agents named by ``settings`` and compose the step
        middleware: the standard ones from the settings, then ``extra`` (innermost)."""
        journal = open_journal(settings.journal_url)
        ledger = open_ledger(settings)
        return cls(
            settings=settings,
            journal=journal,
            registry=load_registry(settings.agent_dirs),
            providers=ProviderPool(settings),
            breakers=BreakerBoard(settings),
            ledger=ledger,
            middleware=MiddlewareChain((*standard_middleware(settings, journal, ledger), *extra)),
        )

    @functools.cached_property
    def versions(self) -> VersionStore:
        """The stored agent versions (what a pinned run's requests are rebuilt from)."""
        return VersionStore(self.journal.engine)

    @functools.cached_property
    def router(self) -> Router:
        """Routes new runs between an agent and its variant under a canary rollout."""
        return Router(self.settings, self.journal.engine)

    @functools.cached_property
    def look_back(self) -> int:
        """How many earlier steps a turn's claim reads: the most any agent's chain can use."""
        widest = 8
        loaded = [self.registry.get(name) for name in self.registry.names()]
        for agent in [a for stable in loaded for a in (stable, *stable.variants)]:
            try:
                chain = resolve_chain(agent, self.settings)
            except ConfigError:
                continue  # its turns stop with the reason; they read nothing
            for deployment in chain:
                if deployment.provider == "cache":
                    continue
                provider = self.providers.get(deployment.provider, deployment.model)
                widest = max(widest, provider.max_context_steps or self.settings.context_max_steps)
        return min(widest, self.settings.context_max_steps)

    def create_run(
        self,
        agent_name: str,
        text: str,
        *,
        tenant: str | None = None,
        limits: Limits | None = None,
        run_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        idempotency: tuple[str, str] | None = None,
        session: str | None = None,
        parent_id: str | None = None,
        stage: str | None = None,
    ) -> RunRecord:
        """Journal a new run of ``agent_name`` (idempotent on ``run_id``), in ``session`` when
        given; ``parent_id`` and ``stage`` place it in a workflow run.

        The request is validated with the one run-request contract first, so nothing invalid
        is stored whichever door it came through.

        Args:
            agent_name: the agent.
            text: the run's input.
            tenant: the run's tenant (None: the default one).
            limits: overrides of the agent's budgets.
            run_id: the run's id (a task id for send_task); a new uuid by default.
            metadata: a small JSON object stored with the run.
            idempotency: the caller's Idempotency-Key and the hash of its request body.

        The run is routed to the agent's stable definition or, under a canary rollout, its
        variant (sticky per ``session`` or tenant); the version it starts on is kept in
        ``agent_versions`` so every later step is rebuilt from it, whatever workers load then.

        Raises:
            RunRequestError: a field is invalid (named, with the fix).
            AgentNotFound: no such agent.
            ConfigError: its model pin or a fallback is a floating alias the settings refuse.
        """
        from orchestration.run_request import parse_run_request

        limits = limits or Limits()
        fields = {
            "agent": agent_name,
            "input": text,
            "tenant": tenant,
            "max_steps": limits.max_steps,
            "max_tokens": limits.max_tokens,
            "max_usd": limits.max_usd,
            "metadata": metadata,
            "session": session,
        }
        parse_run_request({k: v for k, v in fields.items() if v is not None}, self.settings)
        run_id = run_id or str(uuid.uuid4())
        tenant = tenant or self.settings.default_tenant
        stable = self.registry.get(agent_name)
        routed = self.router.route(stable, run_id=run_id, tenant=tenant, session=session)
        agent = routed.agent
        resolve_chain(agent, self.settings)
        self.versions.save(agent)
        return self.journal.create_run(
            NewRun(
                run_id=run_id,
                tenant=tenant,
                agent=agent.name,
                agent_version=agent.version,
                prompt_hash=agent.prompt_hash,
                model=agent.model,
                tool_schemas_hash=agent.tool_schemas_hash,
                input=text,
                max_steps=limits.max_steps or agent.max_steps,
                max_tokens=limits.max_tokens if limits.max_tokens is not None else agent.max_tokens,
                max_usd=limits.max_usd if limits.max_usd is not None else agent.max_usd,
                metadata=metadata,
                idempotency_key=idempotency[0] if idempotency else None,
                request_hash=idempotency[1] if idempotency else None,
                parent_id=parent_id,
                stage=stage,
                session=session,
                trace_id=trace_id_for(run_id),
            )
        )


def standard_middleware(settings: Settings, journal: Journal, ledger: Ledger) -> list[Middleware]:
    """The middleware every worker runs, outermost first: tracing, metrics and the logs' run
    context (each only when configured), the session's memory (added to the request, so the
    budgets see it; recorded on the run), the tenant's day (whose reservation
    lives until the step's outcome is journaled), the run's budgets, its workflow's budgets,
    the LLM response cache when ``CHORDLINE_LLM_CACHE`` is on, then the lease heartbeat around
    the call itself."""
    from orchestration.memory.middleware import MemoryMiddleware
    from orchestration.observability import observability_middleware
    from orchestration.reducer.guards import RunBudget, TenantDayBudget
    from orchestration.reducer.heartbeat import HeartbeatMiddleware, LeaseKeeper
    from orchestration.reducer.response_cache import ResponseCacheMiddleware
    from orchestration.workflows.middleware import WorkflowBudget

    # Tracing, metrics and log context (none of them unless configured) wrap everything else.
    chain: list[Middleware] = [
        *observability_middleware(settings),
        MemoryMiddleware(settings, journal),
        TenantDayBudget(settings, journal, ledger),
        RunBudget(),
        WorkflowBudget(journal),
    ]
    if settings.llm_cache:
        ttl, cap = settings.llm_cache_ttl_seconds, settings.llm_max_output_tokens
        chain.append(ResponseCacheMiddleware(journal, ttl, cap))
    chain.append(HeartbeatMiddleware(LeaseKeeper(journal, settings.lease_seconds)))
    return chain
