"""A local HTTP receiver for outbound webhooks: it answers a scripted list of statuses (then
200) and keeps every POST it got; a test waits on it with a condition, never a sleep."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.services import serve_http

__all__ = ["Received", "Receiver"]


@dataclass(frozen=True)
class Received:
    """One POST the receiver got, and the status it answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    def payload(self) -> dict[str, Any]:
        """The body, decoded from JSON."""
        decoded: dict[str, Any] = json.loads(self.body)
        return decoded


class Receiver:
    """The server and what it got (thread-safe).

    Args:
        statuses: the statuses of the first POSTs, in order; every later one gets 200.
    """

    def __init__(self, statuses: Iterable[int] = ()) -> None:
        self._script = deque(statuses)
        self._got: list[Received] = []
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        """The port it listens on."""
        assert self._server is not None, "start the receiver first"
        return int(self._server.server_address[1])

    def url(self, path: str = "/hooks/T0SECRETTOKEN?sig=Q0SECRETQUERY") -> str:
        """This receiver's URL with ``path`` (by default one holding a token, as chat webhooks'
        do, so a test can check it never shows)."""
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> Receiver:
        """Serve from a daemon thread on a free loopback port."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver._answer(self.path, dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = serve_http(Handler)
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self._changed:
            status = self._script.popleft() if self._script else 200
            self._got.append(Received(path, headers, body, status))
            self._changed.notify_all()
        return status

    @property
    def received(self) -> list[Received]:
        """Every POST so far, oldest first."""
        with self._changed:
            return list(self._got)

    def wait_for(
        self, done: Callable[[list[Received]], bool], timeout_s: float = 90
    ) -> list[Received]:
        """Wait until ``done(every POST so far)`` holds; returns them.

        Raises:
            AssertionError: it did not hold within ``timeout_s`` (a generous ceiling).
        """
        with self._changed:
            held = self._changed.wait_for(lambda: done(list(self._got)), timeout=timeout_s)
            got = list(self._got)
        assert held, f"the receiver's condition did not hold in {timeout_s:g}s; got {got}"
        return got
