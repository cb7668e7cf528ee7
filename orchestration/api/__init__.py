"""The HTTP API (``chordline api``): runs, approvals and health behind tenant API keys.

FastAPI and uvicorn are the ``api`` extra (``pip install 'chordline[api]'``). Every public name
is imported on first use, so the keys (``chordline keys``) and the table of keys (which the
migrations read) need neither.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestration._lazy import lazy_exports

if TYPE_CHECKING:
    from orchestration.api.app import create_app
    from orchestration.api.keys import Principal, create_key, list_keys, revoke_key

__all__ = ["Principal", "create_app", "create_key", "list_keys", "revoke_key"]

# Which module holds each public name.
_HOME = {
    "create_app": "orchestration.api.app",
    **dict.fromkeys(
        ("Principal", "create_key", "list_keys", "revoke_key"), "orchestration.api.keys"
    ),
}

__getattr__, __dir__ = lazy_exports(__name__, _HOME, globals(), __all__)
