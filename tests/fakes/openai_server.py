"""A real HTTP server on 127.0.0.1 that speaks enough of the OpenAI API for the official client.

Tests drive the real ``openai`` client over real HTTP against it, so request encoding, headers,
status-code handling and timeouts are the client's own, not a mock's idea of them.

Endpoints: ``POST /v1/chat/completions`` and ``POST /v1/embeddings``. Each test queues canned
responses per endpoint (:meth:`FakeOpenAIServer.queue_chat`, :meth:`queue_embeddings`); each
request takes the next one. With nothing queued, chat answers HTTP 400 with a message that says
so (400, not 5xx, so that a forgotten canned response fails the test at once instead of being
retried), and embeddings answer with deterministic vectors of the requested size.

Every request body is recorded (:attr:`FakeOpenAIServer.requests`) so tests can assert on what
was sent: the prompt, the absence of secrets, the response format.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

CHAT_PATH = "/v1/chat/completions"
EMBEDDINGS_PATH = "/v1/embeddings"


@dataclass(frozen=True)
class CannedResponse:
    status: int = 200
    #: A dict is sent as JSON; str/bytes as they are (for malformed bodies).
    body: dict[str, Any] | str | bytes = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    #: Seconds to wait before answering (for client timeouts).
    delay_seconds: float = 0.0


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    raw_body: bytes
    received_at: float

    @property
    def json(self) -> Any:
        return json.loads(self.raw_body)

    @property
    def text(self) -> str:
        return self.raw_body.decode("utf-8", errors="replace")


def chat_completion_body(
    content: str | dict[str, Any] | None,
    *,
    prompt_tokens: int = 100,
    completion_tokens: int = 50,
    model: str = "gpt-4o-2024-08-06",
    finish_reason: str = "stop",
    refusal: str | None = None,
) -> dict[str, Any]:
    """A Chat Completions response; a dict ``content`` is JSON-encoded as structured output is."""
    text = json.dumps(content) if isinstance(content, dict) else content
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": refusal},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def error_body(message: str, *, error_type: str = "server_error", code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": None, "code": code}}


def deterministic_vector(text: str, dimensions: int) -> list[float]:
    """A repeatable pseudo-embedding: the same text always gives the same vector."""
    values: list[float] = []
    counter = 0
    while len(values) < dimensions:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        values.extend((byte - 127.5) / 127.5 for byte in digest)
        counter += 1
    return values[:dimensions]


def embeddings_body(vectors: list[list[float]], *, model: str = "text-embedding-3-small") -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": index, "embedding": vector} for index, vector in enumerate(vectors)],
        "model": model,
        "usage": {"prompt_tokens": 8 * len(vectors), "total_tokens": 8 * len(vectors)},
    }


class FakeOpenAIServer:
    """Start with :meth:`start` (or as a context manager); the base URL ends in ``/v1``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[CannedResponse]] = {
            CHAT_PATH: deque(),
            EMBEDDINGS_PATH: deque(),
        }
        self.requests: list[RecordedRequest] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        handler = _make_handler(self)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        # A short poll interval keeps stop() (which waits for the loop to notice) fast.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-openai",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- canned responses ------------------------------------------------------------------

    def queue_chat(self, *responses: CannedResponse) -> None:
        with self._lock:
            self._queues[CHAT_PATH].extend(responses)

    def queue_embeddings(self, *responses: CannedResponse) -> None:
        with self._lock:
            self._queues[EMBEDDINGS_PATH].extend(responses)

    def queue_chat_content(self, content: str | dict[str, Any] | None, **usage: Any) -> None:
        self.queue_chat(CannedResponse(body=chat_completion_body(content, **usage)))

    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [request for request in self.requests if request.path == path]

    def _next_response(self, path: str) -> CannedResponse | None:
        with self._lock:
            queue = self._queues.get(path)
            return queue.popleft() if queue else None

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _default_response(self, path: str, raw_body: bytes) -> CannedResponse:
        if path == EMBEDDINGS_PATH:
            request = json.loads(raw_body or b"{}")
            inputs = request.get("input", [])
            inputs = [inputs] if isinstance(inputs, str) else list(inputs)
            dimensions = int(request.get("dimensions") or 1536)
            vectors = [deterministic_vector(str(text), dimensions) for text in inputs]
            body = embeddings_body(vectors, model=str(request.get("model", "text-embedding-3-small")))
            if request.get("encoding_format") == "base64":
                for item in body["data"]:
                    packed = struct.pack(f"<{len(item['embedding'])}f", *item["embedding"])
                    item["embedding"] = base64.b64encode(packed).decode("ascii")
            return CannedResponse(body=body)
        if path == CHAT_PATH:
            return CannedResponse(
                status=400,
                body=error_body(
                    "fake server: no canned response queued for /v1/chat/completions",
                    error_type="test",
                ),
            )
        return CannedResponse(
            status=404,
            body=error_body(f"fake server: unknown path {path}", error_type="test"),
        )


def _make_handler(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            # Quiet: pytest shows what matters through assertions.
            return

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw_body = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0]
            server._record(
                RecordedRequest(
                    path=path,
                    headers={key.lower(): value for key, value in self.headers.items()},
                    raw_body=raw_body,
                    received_at=time.monotonic(),
                )
            )
            canned = server._next_response(path) or server._default_response(path, raw_body)
            if canned.delay_seconds:
                time.sleep(canned.delay_seconds)
            body = canned.body
            if isinstance(body, dict):
                payload = json.dumps(body).encode("utf-8")
                content_type = "application/json"
            else:
                payload = body.encode("utf-8") if isinstance(body, str) else body
                content_type = "text/plain"
            try:
                self.send_response(canned.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("x-request-id", f"req-fake-{len(server.requests)}")
                for key, value in canned.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up (a timeout test); nothing to answer.
                self.close_connection = True

    return Handler


__all__ = [
    "CHAT_PATH",
    "EMBEDDINGS_PATH",
    "CannedResponse",
    "FakeOpenAIServer",
    "RecordedRequest",
    "chat_completion_body",
    "deterministic_vector",
    "embeddings_body",
    "error_body",
]
