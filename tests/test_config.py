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
