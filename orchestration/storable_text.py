"""Text the journal can store, and the one way JSON is encoded into it.

Two kinds of character break a write. A lone surrogate (a code point in U+D800-U+DFFF on its
own, which a JSON ``"\\ud800"`` escape or an undecodable command-line byte produces) has no
UTF-8 encoding at all; NUL (U+0000) cannot be held by PostgreSQL's text columns nor converted
from its json to text. What people send is refused at every door with the field named
(:func:`find_unstorable`); what tools and models produce is journaled with each such character
replaced by U+FFFD (:func:`storable`, :func:`journal_json`), so a step never fails on its own
output, on SQLite or PostgreSQL alike.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = [
    "FIX",
    "REPLACEMENT",
    "escaped",
    "find_unstorable",
    "journal_json",
    "storable",
    "unstorable",
]

REPLACEMENT = "\ufffd"
"""What a lone surrogate or a NUL becomes when a tool's or a model's output is journaled."""

FIX = (
    "send text without NUL characters or lone surrogates (a \\ud800-\\udfff escape is "
    "only valid as half of a pair); remove or replace them"
)
"""The fix every door's refusal names."""

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(text: str) -> str | None:
    """Why ``text`` cannot be journaled as it is, or None when it can.

    A Python string holds a valid pair of surrogates as one character, so any surrogate code
    point left in one is a lone surrogate.
    """
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return (
            f"contains a NUL character (\\x00) at position {found.start()}, which cannot be stored"
        )
    code = ord(found.group())
    return (
        f"contains a lone surrogate (\\u{code:04x}) at position {found.start()}, which is not "
        "valid Unicode text"
    )


def escaped(text: str) -> str:
    """``text`` for a message or a log line: each lone surrogate and NUL as its escape."""
    return _UNSTORABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def find_unstorable(value: object, where: str) -> tuple[str, str] | None:
    """The first string in a JSON value (keys included) that cannot be journaled.

    Args:
        value: a string, or a JSON object or array of them (other values are fine).
        where: the name of the field ``value`` came from, e.g. ``metadata``.

    Returns:
        ``(path, reason)`` such as ``("metadata['ticket']", "contains a NUL ...")``, or None.
    """
    if isinstance(value, str):
        reason = unstorable(value)
        return None if reason is None else (where, reason)
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and (reason := unstorable(key)) is not None:
                return f"{where} key {key!r}", reason
            found = find_unstorable(item, f"{where}[{key!r}]")
            if found is not None:
                return found
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = find_unstorable(item, f"{where}[{index}]")
            if found is not None:
                return found
    return None


def storable(value: Any) -> Any:
    """``value`` with every lone surrogate and NUL in its strings (and keys) made U+FFFD."""
    if isinstance(value, str):
        return _UNSTORABLE.sub(REPLACEMENT, value)
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [storable(item) for item in value]
    return value


def journal_json(value: object) -> str:
    """The journal's JSON encoding (every JSON column, on both databases).

    Lone surrogates and NULs are replaced by U+FFFD: PostgreSQL's json would keep their escapes
    but refuse them wherever it reads the value as text, and a client reading the row back
    could not encode them. Other values encode exactly as :func:`json.dumps` does.
    """
    encoded = json.dumps(value)
    # Both can only appear as escapes here (the output is ASCII); a valid pair escapes as
    # "\ud83d\ude00" too, and is left as it is by the second pass.
    if "\\u0000" in encoded or "\\ud" in encoded:
        encoded = json.dumps(storable(value))
    return encoded
