"""A real OTLP/HTTP receiver for tests: decodes the official protobuf messages, keeps them.

The OpenTelemetry Collector is not on PyPI; this is the receiving end of the protocol
(``POST /v1/traces``, ``/v1/metrics``, ``/v1/logs`` with ``application/x-protobuf``), built on
``opentelemetry-proto``'s messages, on a free loopback port.
"""

from __future__ import annotations

import gzip
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.services import serve_http

_MESSAGES = {
    "/v1/traces": ExportTraceServiceRequest,
    "/v1/metrics": ExportMetricsServiceRequest,
    "/v1/logs": ExportLogsServiceRequest,
}


def _value(value: dict[str, Any]) -> Any:
    if "arrayValue" in value:
        return [_value(v) for v in value["arrayValue"].get("values", [])]
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        return int(value["intValue"])
    return None


def _attributes(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {a["key"]: _value(a.get("value", {})) for a in items}


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as the collector got it (ids as hex)."""

    name: str
    trace_id: str
    span_id: str
    parent_id: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    events: tuple[tuple[str, dict[str, Any]], ...]
    status: dict[str, Any]
    service: str


@dataclass
class OtlpReceiver:
    """The receiver; ``raw`` keeps every request body's text form for leak checks."""

    port: int = 0
    spans: list[ReceivedSpan] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _grpc: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def endpoint(self) -> str:
        """The base URL for OTEL_EXPORTER_OTLP_ENDPOINT."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> OtlpReceiver:
        """Listen on a free loopback port."""
        self._server = serve_http(_handler(self))
        self.port = self._server.server_address[1]
        return self

    def start_grpc(self) -> OtlpReceiver:
        """Listen for OTLP/gRPC traces instead, on a free loopback port."""
        receiver = self

        class Traces(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc]
            def Export(self, request: Any, context: Any) -> ExportTraceServiceResponse:
                receiver.take("/v1/traces", request.SerializeToString())
                return ExportTraceServiceResponse()

        self._grpc = grpc.server(ThreadPoolExecutor(max_workers=2))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), self._grpc)
        self.port = self._grpc.add_insecure_port("127.0.0.1:0")
        self._grpc.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._grpc is not None:
            self._grpc.stop(grace=None)

    def take(self, path: str, body: bytes) -> None:
        """Decode one export request and keep what it holds."""
        message = _MESSAGES[path]()
        message.ParseFromString(body)
        as_dict = MessageToDict(message)
        with self._lock:
            self.raw.append(str(message))
            if path == "/v1/metrics":
                self.metrics.append(as_dict)
            if path == "/v1/traces":
                self.spans.extend(_spans(as_dict))

    def wait_for(self, ready: Any, timeout_s: float = 30) -> list[ReceivedSpan]:
        """Poll until ``ready(spans)`` is true; returns the spans."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                spans = list(self.spans)
            if ready(spans):
                return spans
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(spans)} spans: {[(s.name, s.parent_id) for s in spans]}"
                )
            time.sleep(0.1)


def _hex(value: str) -> str:
    import base64

    return base64.b64decode(value).hex() if value else ""


def _spans(request: dict[str, Any]) -> list[ReceivedSpan]:
    found: list[ReceivedSpan] = []
    for resource in request.get("resourceSpans", []):
        service = _attributes(resource.get("resource", {}).get("attributes", [])).get(
            "service.name", ""
        )
        for scope in resource.get("scopeSpans", []):
            for span in scope.get("spans", []):
                found.append(
                    ReceivedSpan(
                        name=span["name"],
                        trace_id=_hex(span.get("traceId", "")),
                        span_id=_hex(span.get("spanId", "")),
                        parent_id=_hex(span.get("parentSpanId", "")),
                        start_ns=int(span.get("startTimeUnixNano", 0)),
                        end_ns=int(span.get("endTimeUnixNano", 0)),
                        attributes=_attributes(span.get("attributes", [])),
                        events=tuple(
                            (e["name"], _attributes(e.get("attributes", [])))
                            for e in span.get("events", [])
                        ),
                        status=span.get("status", {}),
                        service=service,
                    )
                )
    return found


def _handler(receiver: OtlpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path not in _MESSAGES:
                self.send_response(404)
                self.end_headers()
                return
            receiver.take(self.path, body)
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    return Handler
