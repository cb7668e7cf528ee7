"""List and map settings parsed by pydantic-settings from the environment, in the comma syntax
docs/settings.md documents (and JSON), with errors naming the variable and the entry at fault."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orchestration.config import load_settings, mask_url
from orchestration.errors import ConfigError


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "openai:gpt-5-mini-2025-08-07, scripted,cache",
            ("openai:gpt-5-mini-2025-08-07", "scripted", "cache"),
        ),
        ('["scripted", "cache"]', ("scripted", "cache")),
        ("", ()),
    ],
)
def test_fallbacks_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: tuple[str, ...]
) -> None:
    monkeypatch.setenv("CHORDLINE_LLM_FALLBACKS", raw)
    assert load_settings().llm_fallbacks == expected


def test_tenant_overrides_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHORDLINE_TENANT_DAILY_USD", "5")
    monkeypatch.setenv("CHORDLINE_TENANT_DAILY_USD_OVERRIDES", "acme=50, globex=0.25")
    settings = load_settings()
    assert settings.tenant_daily_usd_overrides == {"acme": Decimal(50), "globex": Decimal("0.25")}
    assert settings.tenant_daily_cap("globex") == Decimal("0.25")
    assert settings.tenant_daily_cap("other") == Decimal(5)
    assert settings.masked()["CHORDLINE_TENANT_DAILY_USD_OVERRIDES"] == "acme=50,globex=0.25"
    monkeypatch.setenv("CHORDLINE_TENANT_DAILY_USD_OVERRIDES", '{"acme": "7"}')
    assert load_settings().tenant_daily_cap("acme") == Decimal(7)


@pytest.mark.parametrize(
    ("variable", "raw", "expected"),
    [
        (
            "CHORDLINE_LLM_FALLBACKS",
            "gpt-5",
            "CHORDLINE_LLM_FALLBACKS=gpt-5 is invalid: 'gpt-5' "
            "is not provider:model, scripted or cache. Fix: set CHORDLINE_LLM_FALLBACKS to",
        ),
        (
            "CHORDLINE_TENANT_DAILY_USD_OVERRIDES",
            "acme",
            "CHORDLINE_TENANT_DAILY_USD_OVERRIDES="
            "acme is invalid: 'acme' is not tenant=dollars. Fix:",
        ),
        (
            "CHORDLINE_TENANT_DAILY_USD_OVERRIDES",
            "acme=1,globex=lots",
            "CHORDLINE_TENANT_DAILY_USD_OVERRIDES is invalid at globex=lots: Input should be a "
            "valid decimal. Fix:",
        ),
        (
            "CHORDLINE_TENANT_DAILY_USD_OVERRIDES",
            "acme=-1",
            "CHORDLINE_TENANT_DAILY_USD_OVERRIDES is invalid at acme=-1: Input should be greater "
            "than or equal to 0.",
        ),
    ],
)
def test_bad_entries_name_the_variable_and_the_entry(
    monkeypatch: pytest.MonkeyPatch, variable: str, raw: str, expected: str
) -> None:
    monkeypatch.setenv(variable, raw)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("amqp://user:pw@host:5672//", "amqp://user:***@host:5672//"),
        (
            "rediss://u:p%40ss@h:6380/0?ssl_cert_reqs=required",
            "rediss://u:***@h:6380/0?ssl_cert_reqs=required",
        ),
        (
            "postgresql+psycopg://postgres:secret@127.0.0.1:5432/db",
            "postgresql+psycopg://postgres:***@127.0.0.1:5432/db",
        ),
        ("filesystem://", "filesystem://"),
        ("chordline-sqlite:///tmp/results.sqlite3", "chordline-sqlite:///tmp/results.sqlite3"),
    ],
)
def test_mask_url_hides_passwords_of_every_kind_of_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown
