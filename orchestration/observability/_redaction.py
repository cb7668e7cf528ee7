"""Redaction: one pass that removes personal data and secrets from text before it leaves.

Traces (span attributes, events, status messages) and logs (messages, arguments, exceptions)
both go through :class:`Redactor`, so what one export path hides the other cannot show. It
replaces, in this order:

* the secrets of the settings (API keys, passwords in URLs, webhook URL, Flower's password),
  verbatim wherever they appear, by ``[secret]``;
* API keys and tokens by their shape (``sk-...``, ``sk-ant-...``, ``AKIA...``, ``ghp_...``,
  ``xox?-...``, ``AIza...``, JWTs, ``Bearer ...``, ``api_key=...``) by ``[secret]``;
* e-mail addresses by ``[email]``;
* card numbers (13-19 digits, spaces or dashes allowed) that pass the Luhn check by ``[card]``;
* phone numbers (8-15 digits, with ``+``, spaces, dots, dashes or brackets) by ``[phone]``.

Identifiers stay intact: a match must stand alone (not glued to letters, digits or dashes), so
run ids, trace ids and timestamps are not mistaken for phone or card numbers.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from orchestration.config import SettingsGroup

__all__ = ["Redactor", "luhn_valid", "redactor_for"]

_TOKEN_SHAPES = (
    r"sk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}",
    r"AKIA[0-9A-Z]{16}",
    r"gh[pousr]_[A-Za-z0-9]{30,}",
    r"xox[abprs]-[A-Za-z0-9-]{10,}",
    r"AIza[0-9A-Za-z_-]{35}",
    r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    r"(?i:bearer)\s+[A-Za-z0-9._~+/-]{12,}=*",
)
# A name that says its value is a secret: ``api_key``, ``x-auth-token``, ``db_password``.
_SECRET_NAME = r"[\w-]*(?:api[_-]?key|token|secret|password|passwd)[\w-]*"
# ``api_key=...``, ``"token": "..."``, ``password: ...``: keep the name, hide the value.
_NAMED_SECRET = re.compile(
    rf"(?i)(?P<name>\b{_SECRET_NAME}\b[\"']?\s*[:=]\s*[\"']?)(?P<value>[^\s\"',;&]{{4,}})"
)
_SECRET_KEY = re.compile(rf"(?i){_SECRET_NAME}")
_MIN_NAMED_VALUE = 4  # as _NAMED_SECRET: shorter values ("max_tokens": 64) are not secrets
_TOKENS = re.compile("|".join(f"(?:{shape})" for shape in _TOKEN_SHAPES))
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_CARD = re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])")
_PHONE = re.compile(r"(?<![\w+-])(?:\+|\(\d)?\d[\d ().-]{6,18}\d(?![\w-])")
_MIN_SECRET = 6  # shorter "secrets" (a password of "x") would shred every text


def luhn_valid(digits: str) -> bool:
    """True when ``digits`` (digits only) passes the Luhn checksum of card numbers."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "[card]" if 13 <= len(digits) <= 19 and luhn_valid(digits) else match.group()


def _phone(match: re.Match[str]) -> str:
    digits = sum(c.isdigit() for c in match.group())
    return "[phone]" if 8 <= digits <= 15 else match.group()


class Redactor:
    """Replaces personal data and secrets in text.

    Args:
        secrets: literal values that must never appear (the settings' secrets).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        kept = sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True)
        self._secrets = re.compile("|".join(map(re.escape, kept))) if kept else None
        self.fingerprint = hashlib.sha256("\0".join(kept).encode()).hexdigest()[:16]
        """Tells redactors of different secrets apart without holding the secrets."""

    def text(self, value: str) -> str:
        """``value`` with every secret and piece of personal data replaced."""
        if self._secrets is not None:
            value = self._secrets.sub("[secret]", value)
        value = _TOKENS.sub("[secret]", value)
        value = _NAMED_SECRET.sub(lambda m: m["name"] + "[secret]", value)
        value = _EMAIL.sub("[email]", value)
        value = _CARD.sub(_card, value)
        return _PHONE.sub(_phone, value)

    def data(self, value: Any) -> Any:
        """``value`` (decoded JSON: a tool call's arguments) redacted as :meth:`text` redacts its
        JSON text, its shape kept: each string, and each number that reads as a card or phone
        number, passed through :meth:`text`; the value of a key naming a secret (``api_key``,
        ``password``, ``x-auth-token``) replaced by ``[secret]``."""
        if isinstance(value, dict):
            return {key: self._entry(str(key), item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.data(item) for item in value]
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            shown = str(value)
            hidden = self.text(shown)
            return value if hidden == shown else hidden
        return value

    def _entry(self, key: str, item: Any) -> Any:
        named = _SECRET_KEY.fullmatch(key) is not None
        scalar = isinstance(item, str | int | float) and not isinstance(item, bool)
        if named and (not scalar or len(str(item)) >= _MIN_NAMED_VALUE):
            return "[secret]" if item not in (None, [], {}) else item
        return self.data(item)


def _settings_secrets(group: SettingsGroup) -> list[str]:
    found: list[str] = []
    for name in type(group).model_fields:
        value = getattr(group, name)
        if hasattr(value, "get_secret_value"):
            secret = value.get_secret_value()
            found.append(secret)
            if name == "flower_basic_auth":
                found += [pair.partition(":")[2] for pair in secret.split(",")]
        elif isinstance(value, str) and "://" in value:
            password = urlsplit(value).password
            if password:
                found.append(password)
    return found


def redactor_for(group: SettingsGroup) -> Redactor:
    """The redactor for ``group``: the patterns plus every secret it holds. The composition root
    and the entry points pass the whole settings (every group), so every secret is hidden."""
    return Redactor(_settings_secrets(group))
