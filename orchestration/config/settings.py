"""The one settings object: every group, read at once from the environment, and its views."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Self

from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from orchestration.config.group import ENV_PREFIX, SettingsGroup
from orchestration.config.llm import LlmSettings
from orchestration.config.observability import FlowerSettings, ObservabilitySettings
from orchestration.config.runtime import (
    BrokerSettings,
    BudgetSettings,
    CoreSettings,
    JournalSettings,
    LoopSettings,
    WorkerSettings,
)
from orchestration.config.subsystems import (
    ApiSettings,
    ApprovalSettings,
    EvalSettings,
    KnowledgeSettings,
    MemorySettings,
    RolloutSettings,
    WorkflowSettings,
)
from orchestration.config.urls import mask_url
from orchestration.errors import ConfigError

__all__ = ["GROUPS", "Settings", "current_settings", "load_settings"]


class Settings(
    CoreSettings,
    BrokerSettings,
    JournalSettings,
    WorkerSettings,
    LoopSettings,
    LlmSettings,
    BudgetSettings,
    ApiSettings,
    ApprovalSettings,
    EvalSettings,
    KnowledgeSettings,
    MemorySettings,
    WorkflowSettings,
    RolloutSettings,
    ObservabilitySettings,
    FlowerSettings,
):
    """Every setting of Chordline, validated together. ``.env.example`` documents each one.

    Each field belongs to one group and reads flat (``settings.lease_seconds``); a group's view
    (``settings.journal``, ``settings.llm``, ...) is what a component that needs only that group
    receives. The values that combine two groups are properties here: :attr:`journal_url` and
    :attr:`effective_result_backend` default to files in ``CHORDLINE_DATA_DIR``.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", frozen=True
    )

    @functools.cached_property
    def core(self) -> CoreSettings:
        """The process's folder, the agents, the default tenant and the log level."""
        return CoreSettings.model_construct(**self._values_of(CoreSettings))

    @functools.cached_property
    def broker(self) -> BrokerSettings:
        """The broker, the result backend and their transport options."""
        return BrokerSettings.model_construct(**self._values_of(BrokerSettings))

    @functools.cached_property
    def journal(self) -> JournalSettings:
        """The journal's database, leases, the sweeper and retention."""
        return JournalSettings.model_construct(**self._values_of(JournalSettings))

    @functools.cached_property
    def worker(self) -> WorkerSettings:
        """How a worker stops, sweeps and reports ready."""
        return WorkerSettings.model_construct(**self._values_of(WorkerSettings))

    @functools.cached_property
    def loop(self) -> LoopSettings:
        """What a turn of the agent loop reads and gives back to the model."""
        return LoopSettings.model_construct(**self._values_of(LoopSettings))

    @functools.cached_property
    def llm(self) -> LlmSettings:
        """Providers, keys, retries, breakers, fallbacks and the response cache."""
        return LlmSettings.model_construct(**self._values_of(LlmSettings))

    @functools.cached_property
    def budgets(self) -> BudgetSettings:
        """Each tenant's daily spend cap."""
        return BudgetSettings.model_construct(**self._values_of(BudgetSettings))

    @functools.cached_property
    def api(self) -> ApiSettings:
        """The HTTP API and the limits of a run request."""
        return ApiSettings.model_construct(**self._values_of(ApiSettings))

    @functools.cached_property
    def approvals(self) -> ApprovalSettings:
        """The approval webhook: where a tool call waiting for a person is announced."""
        return ApprovalSettings.model_construct(**self._values_of(ApprovalSettings))

    @functools.cached_property
    def evals(self) -> EvalSettings:
        """Evals, the gate, releases and the nightly eval."""
        return EvalSettings.model_construct(**self._values_of(EvalSettings))

    @functools.cached_property
    def knowledge(self) -> KnowledgeSettings:
        """Embeddings, the vector store, chunks and fine-tunes."""
        return KnowledgeSettings.model_construct(**self._values_of(KnowledgeSettings))

    @functools.cached_property
    def memory(self) -> MemorySettings:
        """A session's working, episodic and long-term memory."""
        return MemorySettings.model_construct(**self._values_of(MemorySettings))

    @functools.cached_property
    def workflows(self) -> WorkflowSettings:
        """Where workflows are loaded from."""
        return WorkflowSettings.model_construct(**self._values_of(WorkflowSettings))

    @functools.cached_property
    def rollouts(self) -> RolloutSettings:
        """Version pinning and canary rollouts."""
        return RolloutSettings.model_construct(**self._values_of(RolloutSettings))

    @functools.cached_property
    def observability(self) -> ObservabilitySettings:
        """Traces, metrics, the log format and alerts."""
        return ObservabilitySettings.model_construct(**self._values_of(ObservabilitySettings))

    @functools.cached_property
    def flower(self) -> FlowerSettings:
        """Flower's address, port and basic auth."""
        return FlowerSettings.model_construct(**self._values_of(FlowerSettings))

    def _values_of(self, group: type[SettingsGroup]) -> dict[str, Any]:
        # A view is built from the validated values, so nothing is read or checked twice.
        return {name: getattr(self, name) for name in group.model_fields}

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with ``update`` applied, whose group views are built afresh from it."""
        copied = super().model_copy(update=update, deep=deep)
        for name in GROUPS:
            copied.__dict__.pop(name, None)  # a view cached on the original would be stale
        return copied

    @property
    def journal_url(self) -> str:
        """The effective journal database URL."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'journal.sqlite3'}"

    @property
    def effective_result_backend(self) -> str:
        """The Celery result backend URL, derived from the broker when not set."""
        if self.result_backend:
            return self.result_backend
        if self.embedded:
            return f"chordline-sqlite://{self.data_dir / 'results.sqlite3'}"
        if self.broker_url.startswith(("redis://", "rediss://")):
            return self.broker_url
        raise ConfigError(
            f"CHORDLINE_RESULT_BACKEND is empty and the broker {mask_url(self.broker_url)} "
            "holds no results. Fix: set CHORDLINE_RESULT_BACKEND to a Redis URL, "
            "e.g. redis://localhost:6379/1 (chords need a result backend)."
        )

    def masked(self) -> dict[str, str]:
        """The effective settings as text, group by group, with passwords in URLs masked."""
        shown: dict[str, str] = {}
        for group in GROUPS.values():
            for name in group.model_fields:
                text = _as_env_text(getattr(self, name))
                shown[ENV_PREFIX + name.upper()] = mask_url(text) if "://" in text else text
        shown["(journal)"] = mask_url(self.journal_url)
        return shown


GROUPS: Mapping[str, type[SettingsGroup]] = {
    "core": CoreSettings,
    "broker": BrokerSettings,
    "journal": JournalSettings,
    "worker": WorkerSettings,
    "loop": LoopSettings,
    "llm": LlmSettings,
    "budgets": BudgetSettings,
    "api": ApiSettings,
    "approvals": ApprovalSettings,
    "evals": EvalSettings,
    "knowledge": KnowledgeSettings,
    "memory": MemorySettings,
    "workflows": WorkflowSettings,
    "rollouts": RolloutSettings,
    "observability": ObservabilitySettings,
    "flower": FlowerSettings,
}
"""Each group of :class:`Settings` by the name of its view (``settings.journal``), in the order
``chordline check`` and ``.env.example`` list them."""


def _as_env_text(value: Any) -> str:
    """A setting as one would write it in the environment (lists and maps comma-separated)."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ",".join(str(item) for item in value)
    if isinstance(value, dict):
        return ",".join(f"{key}={item}" for key, item in value.items())
    return str(value)


def _describe(error: dict[str, Any]) -> str:
    loc = [str(part) for part in error["loc"]]
    field = loc[0] if loc else "?"
    name = ENV_PREFIX + field.upper()
    info = Settings.model_fields.get(field)
    hint = info.description if info is not None and info.description else "a valid value"
    value = error.get("input")
    shown = mask_url(value) if isinstance(value, str) else repr(value)
    if info is not None and "SecretStr" in str(info.annotation):
        shown = "***"  # a secret's rejected value is still a secret
    reason = str(error["msg"]).removeprefix("Value error, ")
    fix = f"Fix: set {name} to {hint}."
    if len(loc) > 1:
        # An entry of a list or map setting: say which one.
        return f"{name} is invalid at {'.'.join(loc[1:])}={shown}: {reason}. {fix}"
    return f"{name}={shown} is invalid: {reason}. {fix}"


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings.

    Args:
        overrides: values that take precedence over the environment (tests, CLI flags).

    Returns:
        The validated settings.

    Raises:
        ConfigError: naming each invalid variable, its value and the fix.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = [_describe(dict(error)) for error in exc.errors()]
        raise ConfigError("Invalid configuration:\n  " + "\n  ".join(lines)) from None


@functools.cache
def current_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
