"""The per-process runtime context: settings, journal and agents, passed explicitly."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from orchestration.agents.definition import AgentRegistry, load_registry
from orchestration.config import Settings
from orchestration.journal import Journal, open_journal
from orchestration.journal.records import NewRun, RunRecord
from orchestration.llm.deployments import resolve_chain
from orchestration.observability.trace_context import trace_id_for
from orchestration.reducer.middleware import Middleware, MiddlewareChain

__all__ = ["Limits", "Runtime", "standard_middleware"]


def standard_middleware(settings: Settings, journal: Journal) -> list[Middleware]:
    """The middleware every worker runs, outermost first."""
    from orchestration.observability import observability_middleware
    from orchestration.reducer.heartbeat import HeartbeatMiddleware, LeaseKeeper

    # Tracing, metrics and log context (none of them unless configured) wrap everything else.
    return [
        *observability_middleware(settings),
        HeartbeatMiddleware(LeaseKeeper(journal, settings.lease_seconds)),
    ]


@dataclass(frozen=True)
class Limits:
    """Per-submit overrides of an agent's default budgets (None keeps the default)."""

    max_steps: int | None = None
    max_tokens: int | None = None
    max_usd: Decimal | None = None


@dataclass(frozen=True)
class Runtime:
    """Everything a step needs besides its ids."""

    settings: Settings
    journal: Journal
    registry: AgentRegistry
    middleware: MiddlewareChain = field(default_factory=MiddlewareChain)

    @classmethod
    def open(cls, settings: Settings, *extra: Middleware) -> Runtime:
        """Attach to the journal, load the agents named by ``settings`` and compose the step
        middleware (the standard ones from the settings, then ``extra``, innermost)."""
        journal = open_journal(settings.journal_url)
        return cls(
            settings=settings,
            journal=journal,
            registry=load_registry(settings.agent_dirs),
            middleware=MiddlewareChain((*standard_middleware(settings, journal), *extra)),
        )

    def create_run(
        self,
        agent_name: str,
        text: str,
        *,
        tenant: str | None = None,
        limits: Limits | None = None,
        run_id: str | None = None,
    ) -> RunRecord:
        """Journal a new run of ``agent_name`` (idempotent on ``run_id``).

        Raises:
            AgentNotFound: no such agent.
            ConfigError: its model pin or a fallback is a floating alias the settings refuse.
        """
        agent = self.registry.get(agent_name)
        resolve_chain(agent, self.settings)
        limits = limits or Limits()
        run_id = run_id or str(uuid.uuid4())
        return self.journal.create_run(
            NewRun(
                run_id=run_id,
                tenant=tenant or self.settings.default_tenant,
                agent=agent.name,
                agent_version=agent.version,
                prompt_hash=agent.prompt_hash,
                model=agent.model,
                tool_schemas_hash=agent.tool_schemas_hash,
                input=text,
                max_steps=limits.max_steps or agent.max_steps,
                max_tokens=limits.max_tokens if limits.max_tokens is not None else agent.max_tokens,
                max_usd=limits.max_usd if limits.max_usd is not None else agent.max_usd,
                trace_id=trace_id_for(run_id),
            )
        )
