"""The named groups of the settings: each field in one group, each group's view equal to the
whole, the variable names unchanged, every field documented."""

from __future__ import annotations

import ast
import functools
import inspect
import re
from decimal import Decimal

import pytest
from pydantic import ValidationError

from orchestration import config
from orchestration.config import ENV_PREFIX, GROUPS, Settings, load_settings
from orchestration.errors import ConfigError, RunRequestTooLarge

# Every variable ``Settings`` read before it was split into groups (main, 2026-12-03).
_VARIABLES_BEFORE_THE_GROUPS = frozenset(
    [
        "CHORDLINE_ADMIN_TENANT",
        "CHORDLINE_AGENTS_DIR",
        "CHORDLINE_ALERT_CHECK_SECONDS",
        "CHORDLINE_ALERT_COOLDOWN_MINUTES",
        "CHORDLINE_ALERT_COST_PER_RUN_USD",
        "CHORDLINE_ALERT_ERROR_RATE",
        "CHORDLINE_ALERT_MIN_RUNS",
        "CHORDLINE_ALERT_P95_LATENCY_SECONDS",
        "CHORDLINE_ALERT_TENANT_DAILY_USD",
        "CHORDLINE_ALERT_WEBHOOK_ATTEMPTS",
        "CHORDLINE_ALERT_WEBHOOK_URL",
        "CHORDLINE_ALERT_WINDOW_MINUTES",
        "CHORDLINE_ALLOW_MODEL_ALIASES",
        "CHORDLINE_ANTHROPIC_API_KEY",
        "CHORDLINE_ANTHROPIC_BASE_URL",
        "CHORDLINE_API_HOST",
        "CHORDLINE_API_MAX_CONCURRENT_RUNS",
        "CHORDLINE_API_PORT",
        "CHORDLINE_API_RATE_LIMIT_PER_MINUTE",
        "CHORDLINE_BREAKER_FAIL_MAX",
        "CHORDLINE_BREAKER_RESET_SECONDS",
        "CHORDLINE_BROKER_URL",
        "CHORDLINE_CLEANUP_CRON",
        "CHORDLINE_CONTEXT_MAX_STEPS",
        "CHORDLINE_CONTEXT_WINDOW_TOKENS",
        "CHORDLINE_DATABASE_URL",
        "CHORDLINE_DATA_DIR",
        "CHORDLINE_DEFAULT_TENANT",
        "CHORDLINE_DISABLED_VARIANTS",
        "CHORDLINE_EMBEDDED_POLL_INTERVAL",
        "CHORDLINE_EMBEDDING_BATCH_SIZE",
        "CHORDLINE_EMBEDDING_MODEL",
        "CHORDLINE_EMBEDDING_MODEL_DIR",
        "CHORDLINE_EVALS_DIR",
        "CHORDLINE_EVAL_CONCURRENCY",
        "CHORDLINE_EVAL_JUDGE_MODEL",
        "CHORDLINE_EVAL_MAX_COST_PER_CASE",
        "CHORDLINE_EVAL_MAX_P95_LATENCY_S",
        "CHORDLINE_EVAL_MIN_PASS_RATE",
        "CHORDLINE_EVAL_OUTPUT_DIR",
        "CHORDLINE_EVAL_RUN_TIMEOUT_SECONDS",
        "CHORDLINE_EVAL_TENANT",
        "CHORDLINE_EVAL_TOLERANCE",
        "CHORDLINE_FINETUNE_AGENTS",
        "CHORDLINE_FINETUNE_BASE_MODEL",
        "CHORDLINE_FINETUNE_CRON",
        "CHORDLINE_FINETUNE_POLL_SECONDS",
        "CHORDLINE_FLOWER_ADDRESS",
        "CHORDLINE_FLOWER_BASIC_AUTH",
        "CHORDLINE_FLOWER_PORT",
        "CHORDLINE_KNOWLEDGE_CHUNK_CHARS",
        "CHORDLINE_KNOWLEDGE_CHUNK_OVERLAP",
        "CHORDLINE_KNOWLEDGE_REBUILD_CRON",
        "CHORDLINE_LEASE_SECONDS",
        "CHORDLINE_LLM_CACHE",
        "CHORDLINE_LLM_CACHE_TTL_SECONDS",
        "CHORDLINE_LLM_FALLBACKS",
        "CHORDLINE_LLM_MAX_ATTEMPTS",
        "CHORDLINE_LLM_MAX_OUTPUT_TOKENS",
        "CHORDLINE_LLM_PROVIDER",
        "CHORDLINE_LLM_RETRY_BASE_SECONDS",
        "CHORDLINE_LLM_RETRY_MAX_SECONDS",
        "CHORDLINE_LLM_TIMEOUT_SECONDS",
        "CHORDLINE_LOG_FORMAT",
        "CHORDLINE_LOG_LEVEL",
        "CHORDLINE_MAX_TOOL_ERRORS",
        "CHORDLINE_MEMORY_EPISODIC_TOKENS",
        "CHORDLINE_MEMORY_RECALL_FACTS",
        "CHORDLINE_MEMORY_REDIS_URL",
        "CHORDLINE_MEMORY_RETENTION_DAYS",
        "CHORDLINE_MEMORY_WORKING_TTL_SECONDS",
        "CHORDLINE_MEMORY_WORKING_TURNS",
        "CHORDLINE_METRICS_EXPORTER",
        "CHORDLINE_METRICS_INTERVAL_SECONDS",
        "CHORDLINE_NIGHTLY_EVAL_AGENTS",
        "CHORDLINE_NIGHTLY_EVAL_CRON",
        "CHORDLINE_NIGHTLY_EVAL_K",
        "CHORDLINE_OPENAI_API_KEY",
        "CHORDLINE_OPENAI_BASE_URL",
        "CHORDLINE_RELEASES_DIR",
        "CHORDLINE_RESULT_BACKEND",
        "CHORDLINE_RETENTION_DAYS",
        "CHORDLINE_ROLLOUT_CHECK_SECONDS",
        "CHORDLINE_RUN_INPUT_MAX_BYTES",
        "CHORDLINE_RUN_METADATA_MAX_BYTES",
        "CHORDLINE_SHUTDOWN_TIMEOUT_SECONDS",
        "CHORDLINE_STALE_AFTER_SECONDS",
        "CHORDLINE_SWEEP_INTERVAL_SECONDS",
        "CHORDLINE_TENANT_DAILY_USD",
        "CHORDLINE_TENANT_DAILY_USD_OVERRIDES",
        "CHORDLINE_TOOL_ERROR_MAX_CHARS",
        "CHORDLINE_TOOL_OUTPUT_MAX_CHARS",
        "CHORDLINE_TRACE_CONTENT",
        "CHORDLINE_TRACE_CONTENT_SAMPLE",
        "CHORDLINE_TRACE_EXPORTER",
        "CHORDLINE_UNACKED_RESTORE_INTERVAL",
        "CHORDLINE_VECTOR_STORE_URL",
        "CHORDLINE_VERSION_WAIT_SECONDS",
        "CHORDLINE_VISIBILITY_TIMEOUT",
        "CHORDLINE_WORKER_READY_FILE",
        "CHORDLINE_WORKER_SWEEPS",
        "CHORDLINE_WORKFLOWS_DIR",
    ]
)

# Every variable added since, each in the group of the component that reads it.
_VARIABLES_ADDED_SINCE = frozenset(
    [
        "CHORDLINE_APPROVAL_WEBHOOK_SECRET",
        "CHORDLINE_APPROVAL_WEBHOOK_URL",
        "CHORDLINE_CONSOLE_URL",
        "CHORDLINE_TRACE_URL_TEMPLATE",
    ]
)

# One value per group that differs from its default, so equal values mean the right values.
_ENVIRONMENT = {
    "CHORDLINE_DEFAULT_TENANT": "acme",
    "CHORDLINE_VISIBILITY_TIMEOUT": "99",
    "CHORDLINE_LEASE_SECONDS": "7.5",
    "CHORDLINE_WORKER_SWEEPS": "false",
    "CHORDLINE_MAX_TOOL_ERRORS": "9",
    "CHORDLINE_LLM_FALLBACKS": "scripted,cache",
    "CHORDLINE_OPENAI_API_KEY": "sk-groups",
    "CHORDLINE_TENANT_DAILY_USD_OVERRIDES": "acme=5",
    "CHORDLINE_API_PORT": "8123",
    "CHORDLINE_APPROVAL_WEBHOOK_URL": "https://hooks.example.com/approvals",
    "CHORDLINE_EVAL_TENANT": "ev",
    "CHORDLINE_KNOWLEDGE_CHUNK_CHARS": "900",
    "CHORDLINE_MEMORY_RECALL_FACTS": "2",
    "CHORDLINE_WORKFLOWS_DIR": "wf",
    "CHORDLINE_DISABLED_VARIANTS": "triage:brief",
    "CHORDLINE_LOG_FORMAT": "json",
    "CHORDLINE_FLOWER_PORT": "5556",
}


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    for variable, value in _ENVIRONMENT.items():
        monkeypatch.setenv(variable, value)
    return load_settings()


def _group_of(variable: str) -> str:
    field = variable.removeprefix(ENV_PREFIX).lower()
    return next(name for name, group in GROUPS.items() if field in group.model_fields)


def test_every_field_belongs_to_exactly_one_group() -> None:
    seen: dict[str, str] = {}
    for name, group in GROUPS.items():
        for field in group.model_fields:
            assert field not in seen, f"{field} is in {seen.get(field)} and {name}"
            seen[field] = name
    assert seen.keys() == Settings.model_fields.keys()
    assert all(issubclass(Settings, group) for group in GROUPS.values())


def test_variable_names_are_unchanged() -> None:
    assert Settings.model_config["env_prefix"] == ENV_PREFIX == "CHORDLINE_"
    assert not Settings.model_config["case_sensitive"]
    for name, info in Settings.model_fields.items():
        assert info.alias is None and info.validation_alias is None, name
    assert {ENV_PREFIX + name.upper() for name in Settings.model_fields} == (
        _VARIABLES_BEFORE_THE_GROUPS | _VARIABLES_ADDED_SINCE
    )


def test_each_view_carries_exactly_its_fields_with_the_values_read(settings: Settings) -> None:
    for name, group in GROUPS.items():
        view = getattr(settings, name)
        assert type(view) is group
        assert view.model_dump() == {
            field: getattr(settings, field) for field in group.model_fields
        }
        assert getattr(settings, name) is view  # built once
    for variable in _ENVIRONMENT:
        field = variable.removeprefix(ENV_PREFIX).lower()
        assert getattr(getattr(settings, _group_of(variable)), field) == getattr(settings, field)
    assert settings.journal.lease_seconds == 7.5
    assert settings.budgets.tenant_daily_cap("acme") == Decimal(5)
    assert settings.rollouts.disabled_variant_pairs == {("triage", "brief")}
    assert settings.llm.openai_api_key is not None
    assert settings.llm.openai_api_key.get_secret_value() == "sk-groups"


def test_views_are_frozen_and_a_copy_gets_fresh_ones(settings: Settings) -> None:
    with pytest.raises(ValidationError):
        settings.journal.lease_seconds = 1.0
    assert settings.llm.llm_cache is False
    copied = settings.model_copy(update={"llm_cache": True, "lease_seconds": 2.0})
    assert copied.llm.llm_cache is True
    assert copied.journal.lease_seconds == 2.0
    assert settings.llm.llm_cache is False
    assert settings.journal.lease_seconds == 7.5


def test_view_names_are_not_field_names() -> None:
    assert not set(GROUPS) & set(Settings.model_fields)
    for name in GROUPS:
        assert isinstance(inspect.getattr_static(Settings, name), functools.cached_property)


def test_a_group_reads_its_own_variables_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHORDLINE_LLM_MAX_ATTEMPTS", "7")
    monkeypatch.setenv("CHORDLINE_LEASE_SECONDS", "3")
    assert config.LlmSettings().llm_max_attempts == 7
    assert config.JournalSettings().lease_seconds == 3.0
    assert not hasattr(config.JournalSettings(), "llm_max_attempts")


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("CHORDLINE_BROKER_URL", "kafka://k:9092", "scheme must be one of filesystem"),
        ("CHORDLINE_DATABASE_URL", "mysql://db/x", "driver must be one of sqlite"),
        ("CHORDLINE_CLEANUP_CRON", "0 25 * * *", "hour 25 is outside 0-23"),
        ("CHORDLINE_NIGHTLY_EVAL_CRON", "0 2 *", "a crontab needs five fields"),
        ("CHORDLINE_KNOWLEDGE_REBUILD_CRON", "61 2 * * *", "minute 61 is outside 0-59"),
        ("CHORDLINE_FINETUNE_CRON", "0 3 32 * *", "day-of-month 32 is outside 1-31"),
        ("CHORDLINE_LLM_FALLBACKS", "gpt-5", "'gpt-5' is not provider:model, scripted or cache"),
        ("CHORDLINE_TENANT_DAILY_USD_OVERRIDES", "acme", "'acme' is not tenant=dollars"),
        ("CHORDLINE_EMBEDDING_MODEL", "local:other", "not local:all-MiniLM-L6-v2 or openai:MODEL"),
        ("CHORDLINE_VECTOR_STORE_URL", "pg://db", "scheme must be sqlite-vec:///PATH"),
        (
            "CHORDLINE_KNOWLEDGE_CHUNK_OVERLAP",
            "800",
            "must be below CHORDLINE_KNOWLEDGE_CHUNK_CHARS",
        ),
        ("CHORDLINE_DISABLED_VARIANTS", "triage", "'triage' is not agent:variant"),
        ("CHORDLINE_ALERT_WEBHOOK_URL", "ftp://hook", "the URL must start with http://"),
        ("CHORDLINE_APPROVAL_WEBHOOK_URL", "ftp://hook", "the URL must start with http://"),
        ("CHORDLINE_APPROVAL_WEBHOOK_URL", "https:///path", "the URL names no host"),
        ("CHORDLINE_APPROVAL_WEBHOOK_SECRET", "short", "the secret is shorter than 16"),
        ("CHORDLINE_CONSOLE_URL", "console.example.com", "the URL must start with http://"),
        ("CHORDLINE_FLOWER_BASIC_AUTH", "admin", "each entry must be user:password"),
    ],
)
def test_each_groups_checks_run_on_the_whole_and_on_the_group(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, reason: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert f"{variable}=" in str(caught.value)  # the value itself, unless it is a secret
    assert f" is invalid: {reason}" in str(caught.value)
    with pytest.raises(ValidationError, match=re.escape(reason)):
        GROUPS[_group_of(variable)]()


def test_every_field_has_a_docstring() -> None:
    documented: set[str] = set()
    for module in (config.runtime, config.llm, config.subsystems, config.observability):
        for node in ast.parse(inspect.getsource(module)).body:
            if not isinstance(node, ast.ClassDef):
                continue
            for statement, following in zip(node.body, [*node.body[1:], None], strict=True):
                if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                    name = statement.target.id
                    assert isinstance(following, ast.Expr), f"{node.name}.{name}"
                    assert isinstance(following.value, ast.Constant), f"{node.name}.{name}"
                    assert isinstance(following.value.value, str), f"{node.name}.{name}"
                    documented.add(name)
    assert documented == Settings.model_fields.keys()


def test_masked_lists_the_settings_group_by_group(settings: Settings) -> None:
    expected = [ENV_PREFIX + f.upper() for group in GROUPS.values() for f in group.model_fields]
    assert list(settings.masked()) == [*expected, "(journal)"]
    assert settings.masked()["CHORDLINE_OPENAI_API_KEY"] == "**********"


def test_a_component_typed_to_its_group_takes_the_view_or_the_whole() -> None:
    from orchestration.run_request import check_sizes
    from workers.app import shutdown_plan

    settings = load_settings(run_input_max_bytes=4, shutdown_timeout_seconds=10)
    for api in (settings.api, settings):
        with pytest.raises(RunRequestTooLarge, match="over the limit of 4"):
            check_sizes({"input": "hello"}, api)
    assert shutdown_plan(settings.worker) == shutdown_plan(settings)
    assert shutdown_plan(settings.worker).soft_s == 1.0
