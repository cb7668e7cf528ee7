"""The URL settings: which brokers and databases are known, and masking their passwords."""

from __future__ import annotations

import re

__all__ = ["check_broker_url", "check_database_url", "mask_url"]

_BROKER_SCHEMES = ("filesystem", "redis", "rediss", "amqp", "pyamqp", "amqps")
_DATABASE_DRIVERS = ("sqlite", "postgresql", "postgresql+psycopg")

# A URL as SQLAlchemy reads database and broker URLs alike: ``scheme://`` (letters, digits, _
# and +), then optional ``user[:password]@`` (the password runs to the first @), then the host
# with an optional port, the path and the query. Parsed here, so loading the settings needs no
# database code.
_URL = re.compile(
    r"(?P<scheme>[\w+]+)://"
    r"(?:(?P<user>[^:/]*)(?::(?P<password>[^@]*))?@)?"
    r"(?:\[[^/?]+\]|[^/:?]+)?(?::(?P<port>[^/?]*))?",
)


def check_broker_url(value: str) -> str:
    """``value`` if it is a broker URL Chordline can use.

    Raises:
        ValueError: naming the schemes that are known.
    """
    scheme = value.partition("://")[0]
    if "://" not in value or scheme not in _BROKER_SCHEMES:
        raise ValueError(f"scheme must be one of {', '.join(_BROKER_SCHEMES)}")
    return value


def check_database_url(value: str | None) -> str | None:
    """``value`` as a journal URL with the driver we ship (None when empty).

    Raises:
        ValueError: not a URL, a port that is not a number, or an unknown driver.
    """
    if value is None or value == "":
        return None
    url = _URL.match(value)
    if url is None:
        raise ValueError("not a SQLAlchemy URL")
    if url["port"] and not url["port"].isdigit():
        raise ValueError(f"port {url['port']!r} is not a number")
    driver = url["scheme"]
    if driver not in _DATABASE_DRIVERS:
        raise ValueError(f"driver must be one of {', '.join(_DATABASE_DRIVERS)}")
    if driver == "postgresql":
        # psycopg 3 is the driver we ship; SQLAlchemy's default would ask for psycopg2.
        return "postgresql+psycopg" + value.removeprefix(driver)
    return value


def mask_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``.

    Database and broker URLs are read alike (``scheme://user:password@host...``); the few whose
    scheme that reading does not take (``chordline-sqlite://``) go through kombu's own sanitizer.
    """
    found = _URL.match(url)
    if found is None:
        from kombu.utils.url import maybe_sanitize_url  # only here: config loads no broker code

        return str(maybe_sanitize_url(url, mask="***"))
    if found["password"] is None:
        return url
    start, end = found.span("password")
    return f"{url[:start]}***{url[end:]}"
