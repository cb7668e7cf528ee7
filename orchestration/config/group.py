"""The base of every settings group: read from ``CHORDLINE_*`` variables and ``.env``, frozen."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ENV_PREFIX", "SettingsGroup"]

ENV_PREFIX = "CHORDLINE_"


class SettingsGroup(BaseSettings):
    """A named group of settings, the part of :class:`~orchestration.config.Settings` that one
    component reads.

    A group is read from the environment like the whole (``LlmSettings()`` reads the
    ``CHORDLINE_LLM_*`` variables it holds), and it is what a component's signature names:
    since ``Settings`` inherits every group, a ``Settings`` is accepted wherever a group is.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", frozen=True
    )
