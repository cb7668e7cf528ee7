"""The URL settings: which brokers and databases are known, and masking their passwords."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

__all__ = ["check_broker_url", "check_database_url", "mask_url"]

_BROKER_SCHEMES = ("filesystem", "redis", "rediss", "amqp", "pyamqp", "amqps")
_DATABASE_DRIVERS = ("sqlite", "postgresql", "postgresql+psycopg")


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
        ValueError: a URL SQLAlchemy cannot read, or an unknown driver.
    """
    if value is None or value == "":
        return None
    try:
        url = make_url(value)
    except ArgumentError as exc:
        raise ValueError("not a SQLAlchemy URL") from exc
    if url.drivername not in _DATABASE_DRIVERS:
        raise ValueError(f"driver must be one of {', '.join(_DATABASE_DRIVERS)}")
    if url.drivername == "postgresql":
        # psycopg 3 is the driver we ship; SQLAlchemy's default would ask for psycopg2.
        return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return value


def mask_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``.

    SQLAlchemy's URL parser reads database and broker URLs alike; the few it cannot parse
    (``chordline-sqlite://``) go through kombu's own sanitizer.
    """
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        from kombu.utils.url import maybe_sanitize_url  # only here: config loads no broker code

        return str(maybe_sanitize_url(url, mask="***"))
