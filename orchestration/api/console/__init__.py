"""The console (``/console``): pages where people see runs, decide approvals and read each
agent's cost, latency and quality, served by ``chordline api`` on the same port.

Server-rendered HTML (Jinja2, every value escaped) with one small script for live updates;
every asset ships in the package, nothing loads from the internet, and nothing is built at
install time. People sign in with an API key; each page shows the key's tenant's runs only.
"""

from __future__ import annotations

from orchestration.api.console.auth import LoginRequired, login_redirect
from orchestration.api.console.pages import router, static_files

__all__ = ["LoginRequired", "login_redirect", "router", "static_files"]
