"""The exception tree: one root, a subtree per subsystem.

Every error says what went wrong, which input or variable caused it and how to fix it, so the
CLI can print ``str(exc)`` to a user without a traceback.
"""

from __future__ import annotations

__all__ = [
    "AgentError",
    "AgentNotFound",
    "ApprovalConflict",
    "ApprovalError",
    "ApprovalNotFound",
    "BackendUnreachable",
    "BudgetError",
    "BudgetExceeded",
    "ChordlineError",
    "ConfigError",
    "DatasetError",
    "EvalError",
    "FallbacksExhausted",
    "FeedbackError",
    "IndexMismatch",
    "JournalError",
    "KnowledgeError",
    "MemoryStoreError",
    "ProviderError",
    "ProviderRejected",
    "ProviderUnavailable",
    "ReleaseRefused",
    "RolloutError",
    "RunNotFound",
    "RunRequestError",
    "RunRequestTooLarge",
    "ToolError",
    "WorkflowError",
    "WorkflowNotFound",
]


class ChordlineError(Exception):
    """Root of every error Chordline raises on purpose."""


class ConfigError(ChordlineError):
    """A setting is missing or invalid; the message names the variable and the fix."""


class BackendUnreachable(ChordlineError):
    """A backing service (broker, journal database) cannot be reached."""


class JournalError(ChordlineError):
    """The run journal refused an operation."""


class RunNotFound(JournalError):
    """No run with the given id is visible to the caller."""


class AgentError(ChordlineError):
    """An agent definition is invalid."""


class AgentNotFound(AgentError):
    """No agent of that name is defined in the agents directory."""


class ToolError(ChordlineError):
    """A tool call failed: unknown tool, invalid arguments, exception or timeout.

    The message is what the model sees in its context, so it is short and says what to change.
    """


class ProviderError(ChordlineError):
    """An LLM provider failed to answer.

    Attributes:
        retryable: True when the same request may succeed later (rate limit, overload,
            server error, timeout, dropped connection); False when it never will as sent.
        status: the HTTP status, when the provider answered with one.
        retry_after_s: the provider's ``Retry-After``, in seconds, when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.retry_after_s = retry_after_s


class ProviderUnavailable(ProviderError):
    """The provider could not answer now (408, 409, 429, 5xx, 529, timeout, connection)."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message, retryable=True, status=status, retry_after_s=retry_after_s)


class ProviderRejected(ProviderError):
    """The provider refused the request as sent (400, 401, 403, 404, 422, missing key).

    Never retried: the message says what to fix.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message, retryable=False, status=status)


class FallbacksExhausted(ProviderError):
    """Every deployment of a fallback chain failed or was skipped; the message lists why."""


class BudgetError(ChordlineError):
    """A run would pass one of its budgets."""


class ApprovalError(ChordlineError):
    """An approval decision was invalid (no such pending approval, or already decided)."""


class BudgetExceeded(BudgetError):
    """A call would pass a budget; raised before anything is spent, it ends the run.

    Attributes:
        reason: the budget and the figures, shown on the run.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ApprovalNotFound(ApprovalError):
    """No approval with that id is visible to the caller."""


class ApprovalConflict(ApprovalError):
    """The approval cannot be decided now: it was decided already, or its run has ended.

    Attributes:
        decision: the first decision, as recorded, when there was one.
    """

    def __init__(self, message: str, *, decision: object | None = None) -> None:
        super().__init__(message)
        self.decision = decision


class RunRequestError(ChordlineError):
    """A request to start a run is invalid; the message names the field and the fix.

    Attributes:
        field: the offending field of the request.
    """

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class RunRequestTooLarge(RunRequestError):
    """A run's input or metadata is over the configured size."""


class FeedbackError(ChordlineError):
    """Feedback on a run is invalid (its score, comment or labels); the message names the field
    and the fix.

    Attributes:
        field: the offending field (``score``, ``comment``, ``labels``).
    """

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class EvalError(ChordlineError):
    """The eval harness could not evaluate, store or compare (a dataset, a result, a baseline)."""


class DatasetError(EvalError):
    """An eval dataset is invalid; the message names the file, the line and the field."""


class ReleaseRefused(EvalError):
    """A release record was refused: a gate failed or an eval is older than its agent."""


class WorkflowError(ChordlineError):
    """A workflow definition or a workflow run is invalid."""


class WorkflowNotFound(WorkflowError):
    """No workflow has the name asked for."""


class MemoryStoreError(ChordlineError):
    """A session's memory could not be read, written or deleted."""


class KnowledgeError(ChordlineError):
    """A knowledge base, embedding model or vector store refused an operation."""


class IndexMismatch(KnowledgeError):
    """A query was embedded with another model or dimension than the index it searches."""


class RolloutError(ChordlineError):
    """A canary rollout cannot start or change as asked (bad plan, one already active)."""
