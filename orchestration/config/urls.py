"""The URL settings: which brokers and databases are known, what a webhook URL must be, and
masking their passwords (and everything but the origin, for a log line)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["check_broker_url", "check_database_url", "check_http_url", "mask_url", "url_origin"]

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


def check_http_url(value: str) -> str:
    """``value`` if it is an ``http://`` or ``https://`` URL naming a host.

    Raises:
        ValueError: another scheme, or no host.
    """
    if not value.startswith(("http://", "https://")):
        raise ValueError("the URL must start with http:// or https://")
    try:
        parts = urlsplit(value)
        host, _ = parts.hostname, parts.port
    except ValueError:  # a port that is not a number, a bracket left open (the text may hold
        # a piece of a secret URL, so it is not repeated)
        raise ValueError("the URL cannot be read: check its host and port") from None
    if not host:
        raise ValueError("the URL names no host")
    return value


def url_origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: what a log may say about where a request went, never
    its credentials, path or query (a chat webhook's path is its token)."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an unreadable URL)"
    host = parts.hostname or ""
    return f"{parts.scheme}://{f'[{host}]' if ':' in host else host}{port}"


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
