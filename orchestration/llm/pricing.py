"""What a model call costs: a price table in code, versioned and dated.

Prices are USD per million tokens, as the providers publish them: input, output and cached input
(tokens read from the provider's prompt cache). ``Usage.input_tokens`` counts every prompt token,
cached ones included, so a call costs ``(input - cached) * input + cached * cached_input + output *
output``. Anthropic's cache writes are billed at the input price here (they cost 1.25x): the
table errs low on those only.

A model missing from the table has an *unknown* cost: None, with a warning, never a silent 0,
so a run's total turns unknown rather than wrong. Update the table (and ``PRICES_VERSION``) when
a provider changes its prices; ``chordline lock`` records the version agents were locked against.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from orchestration.llm.providers.base import Usage

__all__ = ["PRICES", "PRICES_AS_OF", "PRICES_VERSION", "Price", "cost_of", "estimate", "price_of"]

log = logging.getLogger("chordline.pricing")

PRICES_VERSION = "2025.11.1"
"""Bumped whenever a price changes."""

PRICES_AS_OF = "2025-11-24"
"""The day the prices below were last checked against the providers' pricing pages. Newer
models (released after this date) have no price until someone adds them here."""

_MILLION = Decimal(1_000_000)
_CENTS_SCALE = Decimal("0.000001")


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: Decimal
    output: Decimal
    cached_input: Decimal


def _p(input_usd: str, output_usd: str, cached_usd: str) -> Price:
    return Price(Decimal(input_usd), Decimal(output_usd), Decimal(cached_usd))


PRICES: dict[str, Price] = {
    "openai:gpt-4o-2024-08-06": _p("2.50", "10.00", "1.25"),
    "openai:gpt-4o-2024-11-20": _p("2.50", "10.00", "1.25"),
    "openai:gpt-4o-mini-2024-07-18": _p("0.15", "0.60", "0.075"),
    "openai:gpt-4.1-2025-04-14": _p("2.00", "8.00", "0.50"),
    "openai:gpt-4.1-mini-2025-04-14": _p("0.40", "1.60", "0.10"),
    "openai:gpt-4.1-nano-2025-04-14": _p("0.10", "0.40", "0.025"),
    "openai:o3-2025-04-16": _p("2.00", "8.00", "0.50"),
    "openai:o4-mini-2025-04-16": _p("1.10", "4.40", "0.275"),
    "openai:gpt-5-2025-08-07": _p("1.25", "10.00", "0.125"),
    "openai:gpt-5-mini-2025-08-07": _p("0.25", "2.00", "0.025"),
    "openai:gpt-5-nano-2025-08-07": _p("0.05", "0.40", "0.005"),
    "anthropic:claude-3-5-haiku-20241022": _p("0.80", "4.00", "0.08"),
    "anthropic:claude-3-7-sonnet-20250219": _p("3.00", "15.00", "0.30"),
    "anthropic:claude-sonnet-4-20250514": _p("3.00", "15.00", "0.30"),
    "anthropic:claude-opus-4-20250514": _p("15.00", "75.00", "1.50"),
    "anthropic:claude-opus-4-1-20250805": _p("15.00", "75.00", "1.50"),
    "anthropic:claude-sonnet-4-5-20250929": _p("3.00", "15.00", "0.30"),
    "anthropic:claude-haiku-4-5-20251001": _p("1.00", "5.00", "0.10"),
    "anthropic:claude-opus-4-5-20251101": _p("5.00", "25.00", "0.50"),
}
"""Prices by deployment (``provider:model``), as of :data:`PRICES_AS_OF`."""

_FREE = Price(Decimal(0), Decimal(0), Decimal(0))
_FREE_PROVIDERS = ("scripted", "cache")
_warned: set[str] = set()


def price_of(provider: str, model: str) -> Price | None:
    """The price of a deployment; free for the offline ones, None when unknown."""
    if provider in _FREE_PROVIDERS:
        return _FREE
    return PRICES.get(f"{provider}:{model}")


def _unknown(provider: str, model: str) -> None:
    key = f"{provider}:{model}"
    if key not in _warned:
        _warned.add(key)
        log.warning(
            "no price for %s in price table %s (%s): its cost is recorded as unknown. Fix: add "
            "it to orchestration/pricing.py PRICES.",
            key,
            PRICES_VERSION,
            PRICES_AS_OF,
        )


def cost_of(provider: str, model: str, usage: Usage) -> Decimal | None:
    """What a call cost in USD (6 decimals), or None when the model has no price."""
    price = price_of(provider, model)
    if price is None:
        _unknown(provider, model)
        return None
    cached = min(usage.cached_tokens, usage.input_tokens)
    total = (
        (usage.input_tokens - cached) * price.input
        + cached * price.cached_input
        + usage.output_tokens * price.output
    ) / _MILLION
    return total.quantize(_CENTS_SCALE)


def estimate(provider: str, model: str, prompt_tokens: int, output_tokens: int) -> Decimal | None:
    """The most a call may cost: the prompt at the uncached price plus ``output_tokens``."""
    return cost_of(provider, model, Usage(input_tokens=prompt_tokens, output_tokens=output_tokens))
