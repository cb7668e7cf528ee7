"""`chordline api`: the HTTP API on uvicorn (host and port from the settings, ``PORT`` honoured)."""

from __future__ import annotations

import importlib.util

import click

from orchestration.cli.base import load_cli_settings, main
from orchestration.config import Settings
from orchestration.errors import ConfigError

__all__ = ["api", "api_port"]


def api_port(settings: Settings) -> int:
    """CHORDLINE_API_PORT, else the platform's PORT, else 8000.

    Raises:
        ConfigError: PORT is set but is not a port number.
    """
    return settings.api.effective_api_port


@main.command()
@click.option("--host", default=None, help="bind address [default: CHORDLINE_API_HOST]")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="port [default: CHORDLINE_API_PORT, else $PORT, else 8000]",
)
def api(host: str | None, port: int | None) -> None:
    """Serve the HTTP API (runs, events, approvals; OpenAPI at /openapi.json, docs at /docs)
    and the console at /console."""
    for module in ("fastapi", "uvicorn", "jinja2"):
        if importlib.util.find_spec(module) is None:
            raise ConfigError(f"{module} is not installed. Fix: pip install 'chordline[api]'.")
    import uvicorn

    from orchestration.api import create_app

    settings = load_cli_settings()
    app = create_app(settings)
    bound, listening = host or settings.api_host, port or api_port(settings)
    shown = "127.0.0.1" if bound in ("0.0.0.0", "::") else bound
    click.echo(
        f"console: http://{shown}:{listening}/console (sign in with a key from "
        "`chordline keys create`)"
    )
    uvicorn.run(
        app,
        host=bound,
        port=listening,
        log_level=settings.log_level.lower(),
        # Headers (and so keys) are never logged; the access log shows method, path and status.
        access_log=True,
    )
