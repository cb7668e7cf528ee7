"""The one contract for starting a run, whatever the door: HTTP, the client, the CLI, send_task.

Every door validates with :func:`parse_run_request` before anything is stored, so a dict where
text belongs, ``max_usd="lots"``, a negative limit or a 5 MB input is refused with a message that
names the field and the fix instead of failing later inside the database or the budget.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from orchestration.config import ApiSettings
from orchestration.errors import RunRequestError, RunRequestTooLarge
from orchestration.storable_text import FIX, escaped, find_unstorable

__all__ = ["RunRequest", "check_sizes", "parse_run_request", "refuse_unstorable", "request_hash"]

_UNSTORABLE = "unstorable_text"
"""The error type of text that cannot be journaled (the HTTP API names the same fix)."""

_FIXES = {
    "agent": 'an agent\'s name as text, e.g. "support-triage" (`chordline agents` lists them)',
    "input": 'the run\'s input as one string of text, e.g. "refund ORD-1042"',
    "tenant": "a tenant name of 1-64 characters",
    "max_steps": "a whole number >= 1, or leave it out for the agent's default",
    "max_tokens": "a whole number >= 1, or leave it out for the agent's default",
    "max_usd": 'a number of dollars > 0 such as 0.50 or "0.50", or leave it out',
    "metadata": 'a JSON object of small values, e.g. {"ticket": "T-1"}, or leave it out',
    "session": "a session name of 1-128 characters (its memory; sticky for canaries)",
}


class RunRequest(BaseModel):
    """What starting a run takes. Types are strict: ``input`` must be text, limits numbers.

    Attributes:
        agent: the agent's name.
        input: the run's input text.
        tenant: the tenant the run belongs to (None: the default tenant; HTTP sets the key's).
        max_steps: cap on steps, overriding the agent's default.
        max_tokens: cap on tokens, overriding the agent's default.
        max_usd: cap on dollars, overriding the agent's default.
        metadata: a small JSON object stored with the run and returned with it.
        session: the session the run belongs to (its memory; canary routing sticks to it).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    agent: str = Field(min_length=1, max_length=128, strict=True)
    input: str = Field(strict=True)
    tenant: str | None = Field(None, min_length=1, max_length=64, strict=True)
    max_steps: int | None = Field(None, ge=1, le=100_000, strict=True)
    max_tokens: int | None = Field(None, ge=1, le=100_000_000, strict=True)
    max_usd: Decimal | None = Field(None, gt=0, le=1_000_000, max_digits=18, decimal_places=6)
    metadata: dict[str, JsonValue] | None = None
    session: str | None = Field(None, min_length=1, max_length=128, strict=True)

    @field_validator("input", "agent", "tenant", "session", "metadata")
    @classmethod
    def _storable(cls, value: object, info: ValidationInfo) -> object:
        # Lone surrogates cannot be encoded and NULs cannot be stored: refused at the door,
        # in every field, keys of metadata included.
        return refuse_unstorable(value, info)


def refuse_unstorable(value: object, info: ValidationInfo) -> object:
    """A pydantic field validator's body: ``value`` unless it holds text the journal cannot
    store, which is a validation error (type ``unstorable_text``) saying where it is.

    Raises:
        PydanticCustomError: naming the place (``metadata['tags'][1] contains ...``).
    """
    found = find_unstorable(value, str(info.field_name))
    if found is not None:
        where, reason = found
        message = reason if where == info.field_name else f"{where} {reason}"
        raise PydanticCustomError(_UNSTORABLE, message)
    return value


def _describe(error: dict[str, Any]) -> tuple[str, str]:
    # A field's name is the caller's text too (an unknown one is echoed): escaped for messages.
    field = escaped(str(error["loc"][0])) if error["loc"] else "request"
    fix = _FIXES.get(field, f"remove {field!r}: allowed fields are {', '.join(_FIXES)}")
    reason = str(error["msg"])
    if error["type"] == "extra_forbidden":
        reason = "is not a field of a run request"
    if error["type"] == _UNSTORABLE:
        return field, f"{field}: {reason}. Fix: {FIX}."
    if error["type"] == "string_unicode":  # pydantic's own length check meets a lone surrogate
        reason = "is not valid Unicode text: it holds a lone surrogate"
        return field, f"{field}: {reason} (got {_shown(error.get('input'))}). Fix: {FIX}."
    return field, f"{field}: {reason} (got {_shown(error.get('input'))}). Fix: send {fix}."


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_run_request(data: object, settings: ApiSettings) -> RunRequest:
    """Validate a run request from any door, sizes included.

    Args:
        data: a mapping (JSON body, task kwargs) or a :class:`RunRequest` already built.
        settings: for ``run_input_max_bytes`` and ``run_metadata_max_bytes``.

    Returns:
        The request, valid to store.

    Raises:
        RunRequestError: a field is missing or of the wrong type or range (named, with the fix).
        RunRequestTooLarge: the input or the metadata is over its configured size.
    """
    if isinstance(data, RunRequest):
        request = data
    else:
        if not isinstance(data, dict):
            raise RunRequestError(
                f"a run request must be a JSON object, got {type(data).__name__}. Fix: send "
                '{"agent": "...", "input": "..."}.',
                field="request",
            )
        check_sizes(data, settings)
        try:
            request = RunRequest.model_validate(data)
        except ValidationError as exc:
            described = [_describe(dict(error)) for error in exc.errors()]
            raise RunRequestError(
                "invalid run request: " + "; ".join(text for _, text in described),
                field=described[0][0],
            ) from None
    check_sizes(request.model_dump(include={"input", "metadata"}), settings)
    return request


def check_sizes(data: dict[str, Any], settings: ApiSettings) -> None:
    """Refuse an input or metadata over its configured size (before any other check, so a
    huge body is answered 413 whatever else is wrong with it).

    Raises:
        RunRequestTooLarge: naming the field, its size, the limit and the setting.
    """
    text = data.get("input")
    if isinstance(text, str):
        size = len(text.encode("utf-8", errors="surrogatepass"))
        if size > settings.run_input_max_bytes:
            raise RunRequestTooLarge(
                f"input: {size} bytes is over the limit of {settings.run_input_max_bytes}. Fix: "
                "send a shorter input (store large documents elsewhere and pass a reference), "
                "or raise CHORDLINE_RUN_INPUT_MAX_BYTES.",
                field="input",
            )
    metadata = data.get("metadata")
    if metadata is not None:
        try:
            size = len(json.dumps(metadata, separators=(",", ":"), default=str).encode())
        except (TypeError, ValueError):
            size = 0  # not JSON at all: the schema check names it
        if size > settings.run_metadata_max_bytes:
            raise RunRequestTooLarge(
                f"metadata: {size} bytes of JSON is over the limit of "
                f"{settings.run_metadata_max_bytes}. Fix: keep metadata to a few small keys, "
                "or raise CHORDLINE_RUN_METADATA_MAX_BYTES.",
                field="metadata",
            )


def request_hash(request: RunRequest) -> str:
    """A digest of the request as sent, to tell a retry (same key, same body) from a clash."""
    body = request.model_dump(mode="json")
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
