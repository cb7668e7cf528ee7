"""OpenAI's embeddings, files and fine_tuning.jobs endpoints for the local test server.

``tests/llm_server.py`` hands these paths here, so the official SDK's own code (multipart
upload, base64 embeddings, job objects) runs unpatched. Embeddings are hashed bags of words
(deterministic; texts sharing words are near); a fine-tuning job advances one status per
retrieve (validating_files, queued, running, then succeeded with a model id), so a test sees
how many checks followed it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from typing import Any

__all__ = ["OpenAIExtras", "with_extras"]

_PROGRESS = ("validating_files", "queued", "running", "succeeded")
_DIMENSIONS = {"text-embedding-3-large": 3072}


def _vector(text: str, dimension: int) -> list[float]:
    vector = [0.0] * dimension
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        slot = int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "big") % dimension
        vector[slot] += 1.0
    norm = sum(x * x for x in vector) ** 0.5 or 1.0
    return [x / norm for x in vector]


@dataclass
class OpenAIExtras:
    """The endpoints' state, readable by tests.

    Attributes:
        valid_key: the API key accepted (others get a 401).
        embedding_calls: one entry per embeddings request: the number of texts in it.
        embedded_texts: every text embedded, in order.
        files: uploaded files' bytes by file id.
        jobs: fine-tuning jobs by id.
        retrieves: job ids in the order they were retrieved.
        fail_embeddings_after: fail (HTTP 500) every embeddings request after this many texts
            have been embedded; None never fails.
        hold_embeddings_after: hold the first embeddings request that arrives after this many
            texts have been embedded until ``release`` is set (one request only; None holds
            none), so a test can act while a caller is mid-way; ``holding`` is set meanwhile.
    """

    valid_key: str
    embedding_calls: list[int] = field(default_factory=list)
    embedded_texts: list[str] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    retrieves: list[str] = field(default_factory=list)
    fail_embeddings_after: int | None = None
    hold_embeddings_after: int | None = None
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(self, handler: BaseHTTPRequestHandler, method: str) -> bool:
        """Answer the request if its path is served here; False leaves it to the caller."""
        if not handler.path.startswith(("/v1/embeddings", "/v1/files", "/v1/fine_tuning")):
            return False
        key = handler.headers.get("authorization", "").removeprefix("Bearer ")
        if key != self.valid_key:
            _json(handler, 401, {"error": {"message": "invalid key", "type": "auth"}})
        elif method == "GET":
            self.get(handler)
        else:
            self.post(handler)
        return True

    def post(self, handler: BaseHTTPRequestHandler) -> None:
        """Answer a POST."""
        body = handler.rfile.read(int(handler.headers.get("content-length", 0)))
        if handler.path.startswith("/v1/embeddings"):
            self._embeddings(handler, json.loads(body))
        elif handler.path.startswith("/v1/files"):
            self._upload(handler, body)
        else:
            self._create_job(handler, json.loads(body))

    def get(self, handler: BaseHTTPRequestHandler) -> None:
        """Answer a GET (a job's retrieve)."""
        job_id = handler.path.rstrip("/").rsplit("/", 1)[-1]
        with self._lock:
            job = self.jobs.get(job_id)
            if job is not None:
                self.retrieves.append(job_id)
                step = min(_PROGRESS.index(job["status"]) + 1, len(_PROGRESS) - 1)
                job["status"] = _PROGRESS[step]
                if job["status"] == "succeeded":
                    job["fine_tuned_model"] = (
                        f"ft:{job['model']}:chordline:{job['suffix']}:{job_id[-6:]}"
                    )
                    job["finished_at"] = int(time.time())
            answer = dict(job) if job is not None else None
        if answer is None:
            _json(handler, 404, {"error": {"message": f"no job {job_id}", "type": "not_found"}})
        else:
            _json(handler, 200, answer)

    def _embeddings(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        with self._lock:
            hold = self.hold_embeddings_after is not None
            hold = hold and sum(self.embedding_calls) >= (self.hold_embeddings_after or 0)
            if hold:
                self.hold_embeddings_after = None
        if hold:
            self.holding.set()
            # A ceiling only a hung test reaches (the SDK's own timeout is longer).
            self.release.wait(timeout=120)
        with self._lock:
            done = sum(self.embedding_calls)
            if self.fail_embeddings_after is not None and done >= self.fail_embeddings_after:
                _json(handler, 500, {"error": {"message": "injected", "type": "server_error"}})
                return
            self.embedding_calls.append(len(texts))
            self.embedded_texts.extend(texts)
        dimension = _DIMENSIONS.get(body["model"], 1536)
        data = []
        for index, text in enumerate(texts):
            vector = _vector(text, dimension)
            encoded: Any = vector
            if body.get("encoding_format") == "base64":
                encoded = base64.b64encode(struct.pack(f"<{dimension}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        tokens = sum(len(t.split()) for t in texts)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        _json(
            handler, 200, {"object": "list", "data": data, "model": body["model"], "usage": usage}
        )

    def _upload(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        head = f"content-type: {handler.headers['content-type']}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + body)
        parts = {p.get_param("name", header="content-disposition"): p for p in message.iter_parts()}
        upload = parts["file"]
        data = upload.get_payload(decode=True)
        file_id = f"file-{hashlib.sha256(data).hexdigest()[:16]}"
        with self._lock:
            self.files[file_id] = data
        purpose = parts["purpose"].get_payload(decode=True).decode()
        _json(
            handler,
            200,
            {
                "id": file_id,
                "object": "file",
                "bytes": len(data),
                "created_at": int(time.time()),
                "filename": upload.get_filename(),
                "purpose": purpose,
                "status": "processed",
            },
        )

    def _create_job(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        if body.get("training_file") not in self.files:
            _json(
                handler,
                400,
                {"error": {"message": "training_file not found", "type": "invalid_request_error"}},
            )
            return
        job_id = f"ftjob-{time.monotonic_ns()}"
        job = {
            "id": job_id,
            "object": "fine_tuning.job",
            "model": body["model"],
            "created_at": int(time.time()),
            "status": "validating_files",
            "fine_tuned_model": None,
            "training_file": body["training_file"],
            "validation_file": None,
            "hyperparameters": {"n_epochs": "auto"},
            "organization_id": "org-test",
            "result_files": [],
            "seed": 0,
            "trained_tokens": None,
            "finished_at": None,
            "error": None,
            "suffix": body.get("suffix") or "model",
        }
        with self._lock:
            self.jobs[job_id] = job
        _json(handler, 200, dict(job))


def _json(handler: BaseHTTPRequestHandler, status: int, payload: Any) -> None:
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def with_extras(
    base: type[BaseHTTPRequestHandler], extras: OpenAIExtras
) -> type[BaseHTTPRequestHandler]:
    """``base`` (the chat server's handler) with these endpoints in front of it."""

    class WithExtras(base):  # type: ignore[valid-type,misc]
        def do_GET(self) -> None:
            """Answer a retrieve (fine-tuning jobs)."""
            extras.serve(self, "GET")

        def do_POST(self) -> None:
            """Answer these endpoints, or hand the request to the chat server."""
            if not extras.serve(self, "POST"):
                super().do_POST()

    return WithExtras
