"""One typed settings object, read from the environment (prefix ``CHORDLINE_``) and ``.env``.

Invalid settings refuse to start: :func:`load_settings` turns pydantic's validation errors into a
:class:`~orchestration.errors.ConfigError` that names the variable, the bad value and the fix.

:class:`Settings` is made of named groups, one per component that reads them (:data:`GROUPS`):
the runtime's in :mod:`.runtime` (core, broker, journal, worker, loop, budgets), the models' in
:mod:`.llm`, the subsystems' in :mod:`.subsystems` (api, approvals, evals, knowledge, memory,
workflows, rollouts) and :mod:`.observability` (observability, flower). ``settings.llm`` is the
:class:`LlmSettings` view of the same values; a function that takes ``LlmSettings`` also takes
the whole ``Settings``, which inherits every group.
"""

from __future__ import annotations

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
from orchestration.config.settings import GROUPS, Settings, current_settings, load_settings
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

__all__ = [
    "ENV_PREFIX",
    "GROUPS",
    "ApiSettings",
    "ApprovalSettings",
    "BrokerSettings",
    "BudgetSettings",
    "CoreSettings",
    "EvalSettings",
    "FlowerSettings",
    "JournalSettings",
    "KnowledgeSettings",
    "LlmSettings",
    "LoopSettings",
    "MemorySettings",
    "ObservabilitySettings",
    "RolloutSettings",
    "Settings",
    "SettingsGroup",
    "WorkerSettings",
    "WorkflowSettings",
    "current_settings",
    "load_settings",
    "mask_url",
]
