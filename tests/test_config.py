"""Settings: validation messages that name the variable and the fix; secrets masked."""

from __future__ import annotations

import pytest

from orchestration.config import GROUPS, load_settings, mask_url
from orchestration.errors import ConfigError


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"lease_seconds": "soon"},
            "CHORDLINE_LEASE_SECONDS=soon is invalid: Input should be a valid number, unable "
            "to parse string as a number. Fix: set CHORDLINE_LEASE_SECONDS to seconds a step "
            "lease lasts, between 0 and 3600.",
        ),
        (
            {"broker_url": "kafka://localhost:9092"},
            "CHORDLINE_BROKER_URL=kafka://localhost:9092 is invalid: scheme must be one of "
            "filesystem, redis, rediss, amqp, pyamqp, amqps. Fix: set CHORDLINE_BROKER_URL to a "
            "broker URL: filesystem:// (embedded), redis://host:6379/0 or amqp://...",
        ),
        (
            {"database_url": "mysql://root:hunter2@db/x"},
            "CHORDLINE_DATABASE_URL=mysql://root:***@db/x is invalid: driver must be one of "
            "sqlite, postgresql, postgresql+psycopg.",
        ),
        ({"max_tool_errors": 0}, "CHORDLINE_MAX_TOOL_ERRORS=0 is invalid"),
    ],
)
def test_invalid_settings_name_variable_value_and_fix(
    overrides: dict[str, object], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(**overrides)
    assert expected in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_environment_is_read_with_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHORDLINE_MAX_TOOL_ERRORS", "5")
    monkeypatch.setenv("CHORDLINE_DATABASE_URL", "postgresql://u:pw@db:5432/j")
    settings = load_settings()
    assert settings.max_tool_errors == 5
    assert settings.journal_url == "postgresql+psycopg://u:pw@db:5432/j"
    shown = settings.masked()
    assert shown["CHORDLINE_DATABASE_URL"] == "postgresql+psycopg://u:***@db:5432/j"
    assert all("pw@" not in value for value in shown.values())


def test_result_backend_follows_the_broker() -> None:
    assert load_settings(broker_url="redis://r:6379/2").effective_result_backend == (
        "redis://r:6379/2"
    )
    embedded = load_settings(broker_url="filesystem://")
    assert embedded.effective_result_backend.startswith("chordline-sqlite://")
    with pytest.raises(ConfigError, match="CHORDLINE_RESULT_BACKEND is empty"):
        _ = load_settings(broker_url="amqp://guest@localhost//").effective_result_backend


def test_mask_url_only_touches_passwords() -> None:
    assert mask_url("redis://:s3cret@host:6379/0") == "redis://:***@host:6379/0"
    assert mask_url("redis://host:6379/0") == "redis://host:6379/0"


def test_env_example_documents_every_setting_under_its_group() -> None:
    from tests.support import ROOT

    sections: list[set[str]] = []
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.startswith("# -- "):
            sections.append(set())
        elif line.startswith("CHORDLINE_"):
            assert sections, f"{line} comes before the first group's heading"
            sections[-1].add(line.partition("=")[0])
    expected = [
        {f"CHORDLINE_{name.upper()}" for name in group.model_fields} for group in GROUPS.values()
    ]
    assert sections == expected


def test_the_console_url_is_set_or_derived_from_the_api_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PORT", raising=False)
    assert load_settings().api.console_base_url == "http://127.0.0.1:8000/console"
    assert load_settings(api_host="0.0.0.0", api_port=9000).api.console_base_url == (
        "http://127.0.0.1:9000/console"
    )
    monkeypatch.setenv("PORT", "7070")
    assert load_settings(api_host="::1").api.console_base_url == "http://[::1]:7070/console"
    chosen = load_settings(console_url="https://ops.example.com/console/")
    assert chosen.api.console_base_url == "https://ops.example.com/console"
    assert load_settings(console_url="").console_url is None


def test_the_approval_webhook_is_off_when_empty_and_its_url_is_never_shown() -> None:
    off = load_settings(approval_webhook_url="", approval_webhook_secret="")
    assert off.approvals.approval_webhook_url is None
    assert off.approvals.approval_webhook_secret is None
    with pytest.raises(ConfigError) as caught:
        load_settings(approval_webhook_url="ftp://hooks.example/T0SECRETTOKEN")
    message = str(caught.value)
    assert "CHORDLINE_APPROVAL_WEBHOOK_URL=*** is invalid" in message
    assert "Fix: set CHORDLINE_APPROVAL_WEBHOOK_URL to an http(s) URL" in message
    assert "T0SECRETTOKEN" not in message
