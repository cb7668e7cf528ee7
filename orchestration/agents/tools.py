"""Typed tools: a Python function whose arguments are a pydantic model.

The argument model gives the JSON schema the LLM sees and validates what it sends back; nothing
calls a tool with arguments that failed validation.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_type_hints

from pydantic import BaseModel, ValidationError

from orchestration.agents.tool_threads import ToolThreads
from orchestration.errors import AgentError, ToolError

if TYPE_CHECKING:
    from orchestration.config import KnowledgeSettings, LlmSettings
    from orchestration.journal import Journal

__all__ = ["Tool", "ToolContext", "tool"]

JSONValue = Any  # a value json.dumps accepts; checked at the boundary in Tool.invoke


@dataclass(frozen=True)
class ToolContext:
    """What a running tool may know about the step it runs in, and the handles it may use.

    A tool reaches the platform through these, never by opening its own connections or reading
    the environment: what it reads is what the step's runtime was built with.

    Attributes:
        run_id: the run.
        seq: the tool step's number in the run.
        tenant: the run's tenant.
        attempt: how many times this step has been started (1 on the first delivery).
        database_url: the journal's database, for a tool's own tables beside it.
        data_dir: where the runtime keeps its files (indexes, exports).
        journal: the run journal (e.g. ``ctx.journal.get_run(ctx.run_id).input``).
        knowledge: the runtime's knowledge settings (for a knowledge search).
        llm: the runtime's LLM settings (keys and base URLs, e.g. of an embedding model).
    """

    run_id: str
    seq: int
    tenant: str
    attempt: int
    database_url: str
    data_dir: Path
    journal: Journal
    knowledge: KnowledgeSettings
    llm: LlmSettings

    @property
    def idempotency_key(self) -> str:
        """A key unique to this step and stable across retries and re-drives.

        A state-modifying tool passes it to whatever it changes (a unique column, an API's
        Idempotency-Key header) so a repeated delivery cannot repeat the effect.
        """
        return hashlib.sha256(f"chordline:{self.run_id}:{self.seq}".encode()).hexdigest()[:32]


ToolFunction = Callable[[Any, ToolContext], Any]


@functools.cache
def _json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """An argument model's JSON schema, generated once (pydantic rebuilds it on every call).
    Shared between turns: read it, never change it."""
    return model.model_json_schema()


@dataclass(frozen=True)
class Tool:
    """A tool an agent may call.

    Attributes:
        name: the name the model calls it by.
        description: what the model reads to decide when to call it.
        args_model: the pydantic model of its arguments.
        fn: the function, called as ``fn(args, ctx)``.
        read_only: True when it changes nothing; read-only calls of a turn run concurrently.
        requires_approval: True when a person must approve each call before it runs.
        timeout_s: seconds before a call is abandoned and reported to the model as timed out.
        approval_timeout_s: seconds a call may wait for a person before ``approval_timeout``
            decides for them (None: it waits for ever).
        approval_timeout: what a timed-out approval does: ``reject`` (the model reads the
            rejection) or ``fail`` (the run fails).
        allow_edits: True when a reviewer may approve the call with edited arguments.
    """

    name: str
    description: str
    args_model: type[BaseModel]
    fn: ToolFunction = field(repr=False)
    read_only: bool = False
    requires_approval: bool = False
    timeout_s: float = 30.0
    approval_timeout_s: float | None = None
    approval_timeout: Literal["reject", "fail"] = "reject"
    allow_edits: bool = True

    def schema(self) -> dict[str, Any]:
        """The provider-neutral schema sent to the model."""
        return {
            "name": self.name,
            "description": self.description,
            "parameters": _json_schema(self.args_model),
        }

    def validate(self, arguments: str) -> BaseModel:
        """Parse and validate the model's JSON arguments.

        Raises:
            ToolError: a compact message the model can act on.
        """
        try:
            raw = json.loads(arguments or "{}")
        except json.JSONDecodeError as exc:
            raise ToolError(f"arguments for {self.name} are not valid JSON ({exc.msg})") from None
        try:
            return self.args_model.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ToolError(f"invalid arguments for {self.name}: {problems}") from None

    def invoke(self, args: BaseModel, ctx: ToolContext, threads: ToolThreads) -> JSONValue:
        """Run the tool within its timeout and return a JSON-ready result.

        Args:
            args: the validated arguments.
            ctx: the call's context.
            threads: the runtime's tool threads (the call borrows one).

        Raises:
            ToolError: the tool raised, timed out or returned something that is not JSON.
        """
        # A thread, not a process: tools are I/O bound and a Python thread cannot be killed, so
        # a timed-out call is abandoned (daemon) and reported; its late result is discarded.
        outcome = threads.call(lambda: self.fn(args, ctx), self.timeout_s)
        if not outcome.finished:
            raise ToolError(f"{self.name} timed out after {self.timeout_s:g}s")
        if outcome.error is not None:
            exc = outcome.error
            raise ToolError(f"{self.name} raised {type(exc).__name__}: {exc}")
        value = outcome.value
        if isinstance(value, BaseModel):
            return value.model_dump(mode="json")
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise ToolError(f"{self.name} returned {type(value).__name__}, not JSON") from None
        return value


def tool(
    *,
    read_only: bool = False,
    requires_approval: bool = False,
    timeout_s: float = 30.0,
    name: str | None = None,
    approval_timeout_s: float | None = None,
    approval_timeout: Literal["reject", "fail"] = "reject",
    allow_edits: bool = True,
) -> Callable[[ToolFunction], Tool]:
    """Turn ``fn(args: SomeModel, ctx: ToolContext)`` into a :class:`Tool`.

    The function's docstring is the description the model reads.

    Raises:
        AgentError: the function's first parameter is not annotated with a pydantic model.
    """

    def wrap(fn: ToolFunction) -> Tool:
        params = list(inspect.signature(fn).parameters)
        try:
            hints = get_type_hints(fn)
        except NameError as exc:
            raise AgentError(
                f"tool {fn.__name__}: an annotation names something undefined ({exc}). "
                "Fix: import the argument model in the tool's module."
            ) from None
        model = hints.get(params[0]) if params else None
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            got = (getattr(model, "__name__", None) or repr(model)) if params else "no parameter"
            raise AgentError(
                f"tool {fn.__name__}: its first parameter must be annotated with a pydantic "
                f"model (the arguments), not {got}. Fix: class MyArgs(BaseModel): ..., then "
                f"def {fn.__name__}(args: MyArgs, ctx: ToolContext)."
            )
        if timeout_s <= 0:
            raise AgentError(f"tool {fn.__name__}: timeout_s must be > 0, got {timeout_s}")
        if approval_timeout_s is not None and approval_timeout_s <= 0:
            raise AgentError(
                f"tool {fn.__name__}: approval_timeout_s must be > 0 or None (wait for ever), "
                f"got {approval_timeout_s}"
            )
        if approval_timeout not in ("reject", "fail"):
            raise AgentError(
                f"tool {fn.__name__}: approval_timeout must be 'reject' or 'fail', "
                f"got {approval_timeout!r}"
            )
        return Tool(
            name=name or fn.__name__,
            description=inspect.cleandoc(fn.__doc__ or fn.__name__),
            args_model=model,
            fn=fn,
            read_only=read_only,
            requires_approval=requires_approval,
            timeout_s=timeout_s,
            approval_timeout_s=approval_timeout_s,
            approval_timeout=approval_timeout,
            allow_edits=allow_edits,
        )

    return wrap
