"""One typed settings object, read from the environment (prefix ``CHORDLINE_``) and ``.env``.

Invalid settings refuse to start: :func:`load_settings` turns pydantic's validation errors into a
:class:`~orchestration.errors.ConfigError` that names the variable, the bad value and the fix.
The fields live with their subsystem (:mod:`.core`, :mod:`.subsystems`); :class:`Settings`
combines them into the one object every process reads.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from orchestration.config.core import ENV_PREFIX, CoreSettings, mask_url
from orchestration.config.subsystems import (
    ApiSettings,
    EvalSettings,
    KnowledgeSettings,
    MemorySettings,
    ObservabilitySettings,
    RolloutSettings,
)
from orchestration.errors import ConfigError

__all__ = ["ENV_PREFIX", "Settings", "current_settings", "load_settings", "mask_url"]


class Settings(
    ObservabilitySettings,
    RolloutSettings,
    KnowledgeSettings,
    MemorySettings,
    EvalSettings,
    ApiSettings,
    CoreSettings,
):
    """Every setting of Chordline. ``.env.example`` documents each one."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", frozen=True
    )

    def masked(self) -> dict[str, str]:
        """The effective settings as text, with passwords in URLs masked."""
        shown: dict[str, str] = {}
        for name in type(self).model_fields:
            text = _as_env_text(getattr(self, name))
            shown[ENV_PREFIX + name.upper()] = mask_url(text) if "://" in text else text
        shown["(journal)"] = mask_url(self.journal_url)
        return shown


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
