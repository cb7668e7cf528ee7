"""The exception tree: one root, a subtree per subsystem.

Every error says what went wrong, which input or variable caused it and how to fix it, so the
CLI can print ``str(exc)`` to a user without a traceback.
"""

from __future__ import annotations

__all__ = [
    "AgentError",
    "AgentNotFound",
    "ApprovalError",
    "BackendUnreachable",
    "BudgetError",
    "BudgetExceeded",
    "ChordlineError",
    "ConfigError",
    "FallbacksExhausted",
    "JournalError",
    "ProviderError",
    "ProviderRejected",
    "ProviderUnavailable",
    "RolloutError",
    "RunNotFound",
    "ToolError",
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


class RolloutError(ChordlineError):
    """A canary rollout cannot start or change as asked (bad plan, one already active)."""
