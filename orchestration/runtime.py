"""The per-step context: the handles a step runs with, and the middleware contract around it.

One :class:`Runtime` holds the settings groups a step reads, the journal, the agents, the
providers (each built once), the circuit breakers, the router of new runs and the step
middleware: handles only, built by the composition root
(:func:`orchestration.bootstrap.open_runtime`). Nothing of it lives in a module-level cache, so
two runtimes with different settings never share a provider or a breaker.

Whatever wraps a step without being the agent's logic is a :class:`Middleware`. It intercepts
three points of a step, each by calling ``call_next`` (or not), and hears when its worker
starts and stops:

* :meth:`Middleware.step` wraps a claimed step from start to recorded outcome;
* :meth:`Middleware.model_call` wraps the call of a turn's chain of deployments;
* :meth:`Middleware.tool_call` wraps the invocation of a tool;
* :meth:`Middleware.worker_start` and :meth:`Middleware.worker_stop` bracket a worker's life.

Inputs are frozen dataclasses, so a middleware reads what it needs and cannot change what the
next one sees except by passing a replaced copy. The base class passes everything through; a
middleware overrides only the hooks it needs. :class:`MiddlewareChain` composes them, outermost
first. The runtime and the contract share this module because each names the other: a step's
input carries its runtime, and the runtime carries the chain.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from orchestration.agents.store import VersionStore
from orchestration.agents.tool_threads import ToolThreads
from orchestration.config import (
    ApiSettings,
    BrokerSettings,
    CoreSettings,
    EvalSettings,
    JournalSettings,
    KnowledgeSettings,
    LlmSettings,
    LoopSettings,
    MemorySettings,
    RolloutSettings,
    WorkflowSettings,
)
from orchestration.errors import ConfigError
from orchestration.journal.records import ContextEntry, NewRun, RunRecord, StepRecord
from orchestration.llm.deployments import resolve_chain
from orchestration.run_request import parse_run_request
from orchestration.trace_context import trace_id_for

if TYPE_CHECKING:
    from orchestration.agents import Agent, AgentRegistry
    from orchestration.journal import Journal, StepOutcome
    from orchestration.llm.breakers import BreakerBoard
    from orchestration.llm.deployments import Deployment
    from orchestration.llm.fallbacks import ChainOutcome
    from orchestration.llm.providers import ModelRequest, ProviderPool
    from orchestration.reducer.planning import Progress

__all__ = [
    "Limits",
    "Middleware",
    "MiddlewareChain",
    "ModelCall",
    "ModelNext",
    "Routed",
    "RunRouter",
    "Runtime",
    "RuntimeSettings",
    "StepInput",
    "StepNext",
    "ToolInvocation",
    "ToolNext",
]


@dataclass(frozen=True)
class Limits:
    """Per-submit overrides of an agent's default budgets (None keeps the default)."""

    max_steps: int | None = None
    max_tokens: int | None = None
    max_usd: Decimal | None = None


class Routed(Protocol):
    """Where the router sent a new run."""

    @property
    def agent(self) -> Agent:
        """The definition the run starts on."""
        ...


class RunRouter(Protocol):
    """Picks the definition a new run starts on: the agent's stable one or, under a canary
    rollout, its variant (:class:`orchestration.rollouts.Router`), and records the choice."""

    def route(self, agent: Agent, *, run_id: str, tenant: str, session: str | None) -> Routed:
        """Choose and record the side of a new run."""
        ...


@dataclass(frozen=True)
class StepInput:
    """A step its worker has claimed, with its run as the claim read them.

    Attributes:
        rt: the runtime.
        step: the step (status running, lease held by ``owner``).
        run: its run.
        owner: the lease holder (host:pid:task id).
        window: the run's steps before this one that the claim read, newest first.
    """

    rt: Runtime
    step: StepRecord
    run: RunRecord
    owner: str
    window: tuple[ContextEntry, ...] = ()


@dataclass(frozen=True)
class ModelCall:
    """A turn about to ask its chain of deployments.

    Attributes:
        at: the claimed LLM step.
        chain: the deployments, in the order they are tried.
        request: what is sent.
        prompt_tokens: the prompt's estimated tokens.
        estimated_usd: the most the call can cost at the dearest deployment (None: unknown).
    """

    at: StepInput
    chain: tuple[Deployment, ...]
    request: ModelRequest
    prompt_tokens: int
    estimated_usd: Decimal | None


@dataclass(frozen=True)
class ToolInvocation:
    """A tool step about to invoke its tool.

    Attributes:
        at: the claimed tool step.
        tool: the tool's name.
        arguments: the JSON arguments as they will be validated and passed.
    """

    at: StepInput
    tool: str
    arguments: str


StepNext = Callable[[StepInput], "Progress"]
ModelNext = Callable[[ModelCall], "ChainOutcome"]
ToolNext = Callable[[ToolInvocation], "StepOutcome"]


class Middleware:
    """Pass-through hooks; subclasses override the ones they need."""

    def step(self, item: StepInput, call_next: StepNext) -> Progress:
        """Wrap a claimed step up to its recorded outcome."""
        return call_next(item)

    def model_call(self, call: ModelCall, call_next: ModelNext) -> ChainOutcome:
        """Wrap one turn's call of its deployment chain."""
        return call_next(call)

    def tool_call(self, call: ToolInvocation, call_next: ToolNext) -> StepOutcome:
        """Wrap one tool invocation."""
        return call_next(call)

    def worker_start(self, rt: Runtime) -> None:
        """The worker is ready to take steps."""

    def worker_stop(self, rt: Runtime) -> None:
        """The worker is stopping (it may still finish the steps in hand)."""


class MiddlewareChain:
    """Middlewares composed around the core, the first one outermost.

    Args:
        middlewares: the middlewares, outermost first.
    """

    def __init__(self, middlewares: Sequence[Middleware] = ()) -> None:
        self.middlewares = tuple(middlewares)

    def with_(self, *extra: Middleware) -> MiddlewareChain:
        """A chain with ``extra`` added innermost."""
        return MiddlewareChain((*self.middlewares, *extra))

    def step(self, item: StepInput, core: StepNext) -> Progress:
        """Run ``core`` for ``item`` through every middleware's ``step`` hook."""
        call = core
        for middleware in reversed(self.middlewares):
            call = _bind(middleware.step, call)
        return call(item)

    def model_call(self, item: ModelCall, core: ModelNext) -> ChainOutcome:
        """Run ``core`` for ``item`` through every middleware's ``model_call`` hook."""
        call = core
        for middleware in reversed(self.middlewares):
            call = _bind(middleware.model_call, call)
        return call(item)

    def tool_call(self, item: ToolInvocation, core: ToolNext) -> StepOutcome:
        """Run ``core`` for ``item`` through every middleware's ``tool_call`` hook."""
        call = core
        for middleware in reversed(self.middlewares):
            call = _bind(middleware.tool_call, call)
        return call(item)

    def worker_start(self, rt: Runtime) -> None:
        """Tell every middleware the worker started, outermost first."""
        for middleware in self.middlewares:
            middleware.worker_start(rt)

    def worker_stop(self, rt: Runtime) -> None:
        """Tell every middleware the worker is stopping, innermost first."""
        for middleware in reversed(self.middlewares):
            middleware.worker_stop(rt)


def _bind(hook: Callable[[Any, Any], Any], call_next: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda item: hook(item, call_next)


@dataclass(frozen=True)
class RuntimeSettings:
    """The settings groups a step reads, each a typed view of one group of the settings.

    A step reads the group it needs (``rt.settings.journal.lease_seconds``) or hands it on; the
    whole :class:`~orchestration.config.Settings` stays with the composition root and the
    entry points, which build this from it.
    """

    core: CoreSettings
    broker: BrokerSettings
    journal: JournalSettings
    loop: LoopSettings
    llm: LlmSettings
    api: ApiSettings
    knowledge: KnowledgeSettings
    memory: MemorySettings
    workflows: WorkflowSettings
    rollouts: RolloutSettings
    evals: EvalSettings


@dataclass(frozen=True)
class Runtime:
    """Everything a step needs besides its ids.

    Attributes:
        settings: the settings groups a step reads.
        journal: the run journal.
        registry: the agents.
        providers: the LLM providers, each ``provider:model`` built once.
        breakers: one circuit breaker per deployment (shared through Redis when attached).
        router: routes new runs between an agent and its variant under a canary rollout.
        middleware: what wraps every step, model call and tool call.
        tool_threads: the threads tool calls run in (reused; see ``agents.tool_threads``).
    """

    settings: RuntimeSettings
    journal: Journal
    registry: AgentRegistry
    providers: ProviderPool
    breakers: BreakerBoard
    router: RunRouter
    middleware: MiddlewareChain = field(default_factory=MiddlewareChain)
    tool_threads: ToolThreads = field(default_factory=ToolThreads)

    @functools.cached_property
    def versions(self) -> VersionStore:
        """The stored agent versions (what a pinned run's requests are rebuilt from)."""
        return VersionStore(self.journal)

    @functools.cached_property
    def look_back(self) -> int:
        """How many earlier steps a turn's claim reads: the most any agent's chain can use."""
        widest, most = 8, self.settings.loop.context_max_steps
        loaded = [self.registry.get(name) for name in self.registry.names()]
        for agent in [a for stable in loaded for a in (stable, *stable.variants)]:
            try:
                chain = resolve_chain(agent, self.settings.llm)
            except ConfigError:
                continue  # its turns stop with the reason; they read nothing
            for deployment in chain:
                if deployment.provider == "cache":
                    continue
                provider = self.providers.get(deployment.provider, deployment.model)
                widest = max(widest, provider.max_context_steps or most)
        return min(widest, most)

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
        parse_run_request({k: v for k, v in fields.items() if v is not None}, self.settings.api)
        run_id = run_id or str(uuid.uuid4())
        tenant = tenant or self.settings.core.default_tenant
        stable = self.registry.get(agent_name)
        agent = self.router.route(stable, run_id=run_id, tenant=tenant, session=session).agent
        resolve_chain(agent, self.settings.llm)
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
