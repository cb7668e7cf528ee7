"""Step middleware: what wraps a step without living in the agent loop.

A middleware intercepts three points of a step, each by calling ``call_next`` (or not), and
hears when its worker starts and stops:

* :meth:`Middleware.step` wraps a claimed step from start to recorded outcome;
* :meth:`Middleware.model_call` wraps the call of a turn's chain of deployments;
* :meth:`Middleware.tool_call` wraps the invocation of a tool;
* :meth:`Middleware.worker_start` and :meth:`Middleware.worker_stop` bracket a worker's life.

Inputs are frozen dataclasses, so a middleware reads what it needs and cannot change what the
next one sees except by passing a replaced copy. The base class passes everything through; a
middleware overrides only the hooks it needs. Heartbeats, the tenant's daily budget and tracing
are one middleware each; :class:`MiddlewareChain` composes them, outermost first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from orchestration.journal.records import ContextEntry, RunRecord, StepRecord

if TYPE_CHECKING:
    from orchestration.journal import StepOutcome
    from orchestration.llm.deployments import Deployment
    from orchestration.llm.fallbacks import ChainOutcome
    from orchestration.llm.providers import ModelRequest
    from orchestration.reducer.planning import Progress
    from orchestration.runtime import Runtime

__all__ = ["Middleware", "MiddlewareChain", "ModelCall", "StepInput", "ToolInvocation"]


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
