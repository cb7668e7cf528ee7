"""A limit on request header size, whatever HTTP implementation uvicorn runs (h11 buffers a
request that arrives in one read whole, so its own limit does not always apply)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["MAX_HEADER_BYTES", "HeaderLimit"]

MAX_HEADER_BYTES = 16 * 1024


class HeaderLimit:
    """Answer 431 to a request whose headers total more than ``MAX_HEADER_BYTES``."""

    def __init__(self, app: ASGIApp, limit: int = MAX_HEADER_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, unless its headers are over the limit."""
        if scope["type"] == "http":
            size = sum(len(name) + len(value) for name, value in scope["headers"])
            if size > self.limit:
                body = json.dumps(
                    {
                        "detail": f"request headers total {size} bytes, over {self.limit}. Fix: "
                        "send fewer or shorter headers."
                    }
                ).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 431,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
