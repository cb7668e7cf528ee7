"""Checks and parsers shared by the settings groups: crontabs, comma lists and comma maps."""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["comma_list", "comma_map", "crontab"]

_CRON_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


def crontab(value: str) -> str:
    """Five crontab fields, each number in range (names such as mon-fri are left to Celery).

    Raises:
        ValueError: the field count or a number out of its field's range.
    """
    fields = value.split()
    if len(fields) != 5:
        raise ValueError("a crontab needs five fields separated by spaces")
    for name, field, (low, high) in zip(_CRON_FIELDS, fields, _CRON_RANGES, strict=True):
        for number in re.findall(r"(?<![/\d])\d+", field):
            if not low <= int(number) <= high:
                raise ValueError(f"{name} {number} is outside {low}-{high}")
    return value


def comma_list(value: Any) -> Any:
    """A list setting as written in the environment: ``a,b,c`` or a JSON list."""
    if not isinstance(value, str):
        return value
    if value.strip().startswith("["):
        return json.loads(value)
    return tuple(filter(None, (part.strip() for part in value.split(","))))


def comma_map(value: Any, shape: str) -> Any:
    """A map setting as written in the environment: ``key=value,key=value`` or a JSON object.

    Args:
        value: the raw setting.
        shape: how an entry looks, for the error (``tenant=dollars``).

    Raises:
        ValueError: naming an entry that is not ``key=value``.
    """
    if not isinstance(value, str):
        return value
    if value.strip().startswith("{"):
        return json.loads(value)
    found: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in value.split(","))):
        key, equals, item = (part.strip() for part in pair.partition("="))
        if not (key and equals and item):
            raise ValueError(f"{pair!r} is not {shape}")
        found[key] = item
    return found
