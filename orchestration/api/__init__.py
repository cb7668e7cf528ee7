"""The HTTP API (``chordline api``): runs, approvals and health behind tenant API keys.

FastAPI and uvicorn are the ``api`` extra (``pip install 'chordline[api]'``); nothing else of
Chordline imports this package.
"""

from orchestration.api.app import create_app
from orchestration.api.keys import Principal, create_key, list_keys, revoke_key

__all__ = ["Principal", "create_app", "create_key", "list_keys", "revoke_key"]
