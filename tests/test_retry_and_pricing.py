"""The retry loop's waits, Retry-After parsing, the price table and the new settings."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime

import pytest

from orchestration.config import load_settings
from orchestration.errors import ConfigError, ProviderRejected, ProviderUnavailable
from orchestration.llm import pricing
from orchestration.llm._retry import Attempt, RetryPolicy, call_with_retries
from orchestration.llm.providers._status import classify, retry_after
from orchestration.llm.providers.base import Usage


def test_backoff_doubles_caps_and_jitters() -> None:
    policy = RetryPolicy(max_attempts=10, base_s=0.5, max_s=4.0, jitter=0.5)
    assert [policy.backoff(n, rng=lambda: 1.0) for n in (1, 2, 3, 4, 5)] == [0.5, 1, 2, 4, 4]
    assert [policy.backoff(n, rng=lambda: 0.0) for n in (1, 2, 3)] == [0.25, 0.5, 1.0]


def _flaky(errors: list[Exception]) -> object:
    def call() -> str:
        if errors:
            raise errors.pop(0)
        return "answer"

    return call


def test_retry_after_is_honoured_and_every_attempt_recorded() -> None:
    waits: list[float] = []
    attempts: list[Attempt] = []
    errors: list[Exception] = [
        ProviderUnavailable("HTTP 429", status=429, retry_after_s=2.5),
        ProviderUnavailable("HTTP 500", status=500),
    ]
    result = call_with_retries(
        _flaky(errors),  # type: ignore[arg-type]
        RetryPolicy(max_attempts=3, base_s=0.1, max_s=10),
        deployment="openai:m",
        record=attempts.append,
        sleep=waits.append,
    )
    assert result == "answer"
    assert waits[0] == 2.5 and 0.1 <= waits[1] <= 0.2
    assert [(a.number, a.outcome, a.status) for a in attempts] == [
        (1, "retry", 429),
        (2, "retry", 500),
        (3, "ok", None),
    ]


@pytest.mark.parametrize(
    "error",
    [
        ProviderRejected("HTTP 401", status=401),
        ProviderUnavailable("HTTP 429", status=429, retry_after_s=600),
    ],
)
def test_refusals_and_waits_beyond_the_cap_give_up_at_once(error: Exception) -> None:
    waits: list[float] = []
    attempts: list[Attempt] = []
    with pytest.raises(type(error)):
        call_with_retries(
            _flaky([error]),  # type: ignore[arg-type]
            RetryPolicy(max_attempts=5, max_s=30),
            deployment="d",
            record=attempts.append,
            sleep=waits.append,
        )
    assert waits == [] and [a.outcome for a in attempts] == ["failed"]


def test_retry_after_header_forms() -> None:
    assert retry_after({"retry-after": "1"}) == 1.0
    assert retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 < (retry_after({"retry-after": later}) or 0) <= 30
    assert retry_after({}) is None


def test_statuses_sort_into_retryable_and_refused() -> None:
    for status in (408, 409, 429, 500, 502, 503, 504, 529, 599):
        assert classify("anthropic", "m", status, "x", {}).retryable, status
    for status in (400, 401, 403, 404, 422):
        error = classify("anthropic", "m", status, "x", {})
        assert not error.retryable and "Fix:" in str(error), status
    assert "CHORDLINE_ANTHROPIC_API_KEY" in str(classify("anthropic", "m", 401, "bad", {}))


def test_cost_uses_input_cached_and_output_prices() -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000, cached_tokens=500_000)
    # 0.5M at $0.25 + 0.5M cached at $0.025 + 1M out at $2.00
    assert pricing.cost_of("openai", "gpt-5-mini-2025-08-07", usage) == Decimal("2.137500")
    assert pricing.cost_of("scripted", "planner-1", usage) == 0
    assert pricing.PRICES_AS_OF and pricing.PRICES_VERSION


def test_unknown_price_is_none_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "chordline.pricing"):
        cost = pricing.cost_of("openai", "gpt-unpriced-2030-01-01", Usage(10, 10))
    assert cost is None
    assert "no price for openai:gpt-unpriced-2030-01-01" in caplog.text


def test_tenant_caps_are_validated_and_looked_up() -> None:
    settings = load_settings(tenant_daily_usd="5", tenant_daily_usd_overrides="acme=50, globex=0")
    assert settings.tenant_daily_cap("acme") == 50
    assert settings.tenant_daily_cap("globex") == 0
    assert settings.tenant_daily_cap("other") == 5
    with pytest.raises(ConfigError, match="CHORDLINE_TENANT_DAILY_USD_OVERRIDES=acme is invalid"):
        load_settings(tenant_daily_usd_overrides="acme")
    with pytest.raises(ConfigError, match="CHORDLINE_LLM_FALLBACKS=gpt-5 is invalid"):
        load_settings(llm_fallbacks="gpt-5")


def test_api_keys_are_masked() -> None:
    shown = load_settings(openai_api_key="sk-secret", anthropic_api_key="sk-ant").masked()
    assert "sk-secret" not in str(shown) and "sk-ant" not in str(shown)
