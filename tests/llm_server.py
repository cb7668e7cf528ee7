"""A local HTTP server that speaks the OpenAI Chat Completions and Anthropic Messages wire formats.

It stands in for the providers at the edge of the world, so the official SDKs' own code (HTTP,
parsing, error classes) runs unpatched against it. Its answers come from a "brain": by default
the offline scripted planner, fed the conversation decoded from the wire, so the example agents
plan the same calls they plan offline. Faults are injected per API, either for the next N
requests or continuously: an HTTP status with headers (429 + Retry-After, 500, 529, 401, ...),
a request held until the client times out, a connection dropped without an answer, tool-call
arguments that are not JSON, or a different model name in the answer.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from orchestration.llm.providers._scripted import ScriptedModel
from orchestration.llm.providers.base import Message, ModelReply, ModelRequest, ToolCall, ToolSpec
from tests.llm_openai_extras import OpenAIExtras, with_extras

Api = Literal["openai", "anthropic"]
FaultKind = Literal["status", "hang", "drop", "malformed", "model"]

VALID_KEY = "sk-test-valid"


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour.

    Attributes:
        kind: ``status`` (answer ``status`` with ``headers``), ``hang`` (hold the request until
            the client gives up), ``drop`` (close the connection without answering),
            ``malformed`` (answer normally but break the first tool call's arguments) or
            ``model`` (answer normally under the model name ``model``).
        status: the HTTP status for ``status``.
        headers: extra response headers for ``status``.
        model: the model name to answer with for ``model``.
    """

    kind: FaultKind
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    model: str = ""


@dataclass(frozen=True)
class Seen:
    """A request the server received, with what it did about it."""

    api: Api
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    fault: Fault | None
    at: float


@dataclass(frozen=True)
class Gate:
    """A request held at the server: ``arrived`` is set when it comes in, and it is answered
    normally once ``release`` is set (a ceiling of 120 s keeps a forgotten gate from hanging)."""

    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class FakeLLM:
    """The server and its controls (thread-safe; tests drive it from the test process).

    Args:
        keywords: the scripted brain's keywords by tool name (the agents' hint files).
    """

    def __init__(self, keywords: dict[str, tuple[str, ...]] | None = None) -> None:
        self.brain: Callable[[ModelRequest], ModelReply] = ScriptedModel(keywords).complete
        self.seen: list[Seen] = []
        self._per_path: Counter[str] = Counter()
        self._gates: dict[Api, deque[Gate]] = {"openai": deque(), "anthropic": deque()}
        self._queued: dict[Api, deque[Fault]] = {"openai": deque(), "anthropic": deque()}
        self._always: dict[Api, Fault | None] = {"openai": None, "anthropic": None}
        self._lock = threading.Lock()
        self._release = threading.Event()
        self.openai_extras = OpenAIExtras(VALID_KEY)  # embeddings, files, fine_tuning.jobs
        handler = with_extras(_handler(self), self.openai_extras)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeLLM:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release held requests and stop serving."""
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def url(self) -> str:
        """The server's root URL."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def env(self) -> dict[str, str]:
        """Settings that point both providers at this server with a valid key."""
        return {
            "CHORDLINE_OPENAI_BASE_URL": f"{self.url}/v1",
            "CHORDLINE_OPENAI_API_KEY": VALID_KEY,
            "CHORDLINE_ANTHROPIC_BASE_URL": self.url,
            "CHORDLINE_ANTHROPIC_API_KEY": VALID_KEY,
        }

    # -- faults ------------------------------------------------------------------------------

    def fail_next(self, api: Api, fault: Fault, times: int = 1) -> None:
        """Inject ``fault`` into the next ``times`` requests to ``api``."""
        with self._lock:
            self._queued[api].extend([fault] * times)

    def fail_always(self, api: Api, fault: Fault | None) -> None:
        """Inject ``fault`` into every request to ``api`` until called with None."""
        with self._lock:
            self._always[api] = fault

    def hold_next(self, api: Api) -> Gate:
        """Hold the next request to ``api`` until the returned gate is released."""
        gate = Gate()
        with self._lock:
            self._gates[api].append(gate)
        return gate

    def requests(self, path: str) -> int:
        """How many requests ``path`` received (``/v1/chat/completions``, ``/v1/messages``)."""
        with self._lock:
            return self._per_path[path]

    def turns_asked(self, api: Api) -> Counter[int]:
        """How many requests ``api`` received for each turn of a conversation (turn n carries
        n - 1 assistant messages), for tests that prove a turn is asked once."""
        return Counter(
            1 + sum(1 for m in s.body.get("messages", ()) if m.get("role") == "assistant")
            for s in self.calls(api)
        )

    def _gate(self, api: Api) -> Gate | None:
        with self._lock:
            return self._gates[api].popleft() if self._gates[api] else None

    def calls(self, api: Api) -> list[Seen]:
        """The requests ``api`` received, oldest first."""
        with self._lock:
            return [s for s in self.seen if s.api == api]

    def _next_fault(self, api: Api) -> Fault | None:
        with self._lock:
            if self._queued[api]:
                return self._queued[api].popleft()
            return self._always[api]

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)
            self._per_path[seen.path] += 1


# -- wire formats ----------------------------------------------------------------------------


def _openai_request(body: dict[str, Any]) -> ModelRequest:
    system, messages, names = "", [], {}
    for entry in body["messages"]:
        role = entry["role"]
        if role == "system":
            system = entry["content"]
        elif role == "user":
            messages.append(Message("user", entry["content"]))
        elif role == "assistant":
            calls = tuple(
                ToolCall(c["id"], c["function"]["name"], c["function"]["arguments"])
                for c in entry.get("tool_calls") or ()
            )
            names.update({c.call_id: c.name for c in calls})
            messages.append(Message("assistant", entry.get("content") or "", tool_calls=calls))
        elif role == "tool":
            content = entry["content"]
            messages.append(
                Message(
                    "tool",
                    content.removeprefix("ERROR: "),
                    tool_call_id=entry["tool_call_id"],
                    name=names.get(entry["tool_call_id"]),
                    is_error=content.startswith("ERROR: "),
                )
            )
    tools = tuple(
        ToolSpec(
            t["function"]["name"],
            t["function"].get("description", ""),
            t["function"].get("parameters", {}),
        )
        for t in body.get("tools") or ()
    )
    turn = 1 + sum(1 for m in messages if m.role == "assistant")
    return ModelRequest(body["model"], system, tuple(messages), tools, turn)


def _anthropic_request(body: dict[str, Any]) -> ModelRequest:
    messages: list[Message] = []
    names: dict[str, str] = {}
    for entry in body["messages"]:
        if entry["role"] == "assistant":
            text = " ".join(b["text"] for b in entry["content"] if b["type"] == "text")
            calls = tuple(
                ToolCall(b["id"], b["name"], json.dumps(b["input"]))
                for b in entry["content"]
                if b["type"] == "tool_use"
            )
            names.update({c.call_id: c.name for c in calls})
            messages.append(Message("assistant", text, tool_calls=calls))
            continue
        for block in entry["content"]:
            if block["type"] == "text":
                messages.append(Message("user", block["text"]))
            elif block["type"] == "tool_result":
                messages.append(
                    Message(
                        "tool",
                        block["content"],
                        tool_call_id=block["tool_use_id"],
                        name=names.get(block["tool_use_id"]),
                        is_error=bool(block.get("is_error")),
                    )
                )
    tools = tuple(
        ToolSpec(t["name"], t.get("description", ""), t["input_schema"])
        for t in body.get("tools") or ()
    )
    turn = 1 + sum(1 for m in messages if m.role == "assistant")
    system = body.get("system") or ""
    return ModelRequest(body["model"], system, tuple(messages), tools, turn)


def _usage(body: dict[str, Any], reply: ModelReply, turn: int) -> tuple[int, int, int]:
    prompt = max(1, len(json.dumps(body)) // 4)
    completion = max(1, len(json.dumps(reply.to_record())) // 4)
    cached = prompt // 2 if turn > 1 else 0  # a warm prompt cache from the second turn on
    return prompt, completion, cached


def _openai_answer(body: dict[str, Any], reply: ModelReply, model: str, turn: int) -> Any:
    prompt, completion, cached = _usage(body, reply, turn)
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": c.call_id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments},
            }
            for c in reply.tool_calls
        ]
    return {
        "id": f"chatcmpl-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if reply.tool_calls else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
        },
    }


def _anthropic_answer(body: dict[str, Any], reply: ModelReply, model: str, turn: int) -> Any:
    prompt, completion, cached = _usage(body, reply, turn)
    content: list[dict[str, Any]] = []
    if reply.text:
        content.append({"type": "text", "text": reply.text})
    for call in reply.tool_calls:
        try:
            arguments: Any = json.loads(call.arguments)
        except json.JSONDecodeError:
            arguments = call.arguments
        content.append(
            {"type": "tool_use", "id": call.call_id, "name": call.name, "input": arguments}
        )
    return {
        "id": f"msg_{time.monotonic_ns()}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "tool_use" if reply.tool_calls else "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": prompt - cached,
            "output_tokens": completion,
            "cache_read_input_tokens": cached,
            "cache_creation_input_tokens": 0,
        },
    }


def _error_body(api: Api, status: int) -> dict[str, Any]:
    kinds = {
        401: "authentication_error",
        404: "not_found_error",
        429: "rate_limit_error",
        529: "overloaded_error",
        400: "invalid_request_error",
    }
    kind = kinds.get(status, "api_error")
    message = {401: "invalid x-api-key", 529: "Overloaded", 429: "Rate limited"}.get(
        status, f"injected {status}"
    )
    if api == "anthropic":
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": kind, "code": str(status)}}


def _break(reply: ModelReply) -> ModelReply:
    if not reply.tool_calls:
        return reply
    first, *rest = reply.tool_calls
    broken = ToolCall(first.call_id, first.name, first.arguments.rstrip("}") + ', "oops": ')
    return ModelReply(reply.text, (broken, *rest), reply.usage, reply.model)


def _handler(fake: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read ``fake.seen`` instead."""

        def do_POST(self) -> None:
            """Answer one API call, or misbehave as told."""
            length = int(self.headers.get("content-length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            api: Api = "anthropic" if self.path.endswith("/messages") else "openai"
            fault = fake._next_fault(api)
            headers = {k.lower(): v for k, v in self.headers.items()}
            fake._record(Seen(api, self.path, body, headers, fault, time.monotonic()))
            gate = fake._gate(api)
            if gate is not None:
                gate.arrived.set()
                gate.release.wait(120)
            key = headers.get("x-api-key") or headers.get("authorization", "").removeprefix(
                "Bearer "
            )
            if key != VALID_KEY:
                self._json(401, _error_body(api, 401))
            elif fault is not None and fault.kind == "status":
                self._json(fault.status, _error_body(api, fault.status), fault.headers)
            elif fault is not None and fault.kind == "hang":
                fake._release.wait(30)
                self.close_connection = True
            elif fault is not None and fault.kind == "drop":
                self.close_connection = True
            else:
                self._answer(api, body, fault)

        def _answer(self, api: Api, body: dict[str, Any], fault: Fault | None) -> None:
            decode = _anthropic_request if api == "anthropic" else _openai_request
            request = decode(body)
            reply = fake.brain(request)
            if fault is not None and fault.kind == "malformed":
                reply = _break(reply)
            model = fault.model if fault is not None and fault.kind == "model" else body["model"]
            encode = _anthropic_answer if api == "anthropic" else _openai_answer
            self._json(200, encode(body, reply, model, request.turn))

        def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler
