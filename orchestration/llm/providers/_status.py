"""HTTP failures of a provider, sorted into retryable and not, with a message naming the fix."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping

from orchestration.errors import ProviderError, ProviderRejected, ProviderUnavailable

__all__ = ["RETRYABLE_STATUSES", "classify", "retry_after"]

RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
"""Statuses worth another attempt: timeouts, conflicts, rate limits, server errors, overload.
Any other 5xx is retried too."""

_FIXES = {
    400: "the request was invalid ({detail}). Fix: check the agent's tool schemas and prompt; "
    "a context that is too long needs CHORDLINE_CONTEXT_WINDOW_TOKENS lowered",
    401: "the API key was rejected ({detail}). Fix: set {key_var} to a valid key",
    403: "the key may not use {model} ({detail}). Fix: grant the key access to the model or pin "
    "one it may use",
    404: "unknown model or endpoint for {model} ({detail}). Fix: check the pin's model name and "
    "{url_var}",
    422: "the request was rejected as unprocessable ({detail}). Fix: check the tool schemas",
}


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the provider asked us to wait: ``retry-after-ms``, ``Retry-After`` in seconds or
    as an HTTP date; None when it said nothing usable."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    parsed = email.utils.parsedate_to_datetime(value) if value else None
    if parsed is None:
        return None
    return max(parsed.timestamp() - time.time(), 0.0)


def classify(
    provider: str,
    model: str,
    status: int,
    detail: str,
    headers: Mapping[str, str],
) -> ProviderError:
    """The error for an HTTP ``status`` answer from ``provider``.

    Args:
        provider: ``openai`` or ``anthropic`` (names the settings in the fix).
        model: the model asked for.
        status: the HTTP status.
        detail: the provider's own message, shortened.
        headers: the response headers (for ``Retry-After``).

    Returns:
        :class:`ProviderUnavailable` for statuses worth retrying, else :class:`ProviderRejected`.
    """
    detail = " ".join(detail.split())[:200]
    prefix = f"{provider} {model}: HTTP {status}"
    if status in RETRYABLE_STATUSES or status >= 500:
        return ProviderUnavailable(
            f"{prefix} ({detail})", status=status, retry_after_s=retry_after(headers)
        )
    template = _FIXES.get(
        status, "the request was refused ({detail}). Fix: check the deployment's settings"
    )
    upper = provider.upper()
    message = template.format(
        detail=detail,
        model=model,
        key_var=f"CHORDLINE_{upper}_API_KEY",
        url_var=f"CHORDLINE_{upper}_BASE_URL",
    )
    return ProviderRejected(f"{prefix}: {message}.", status=status)
