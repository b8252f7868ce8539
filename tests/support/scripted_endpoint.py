"""A chat-completions endpoint whose answers a test writes in advance: a real HTTP server on a
local port, for the remote model's unit tests of what it does with each answer (retries,
Retry-After, refusals), without a model's seconds per answer.

What the remote model does against a real model server is tested against the stand-in
cloud (tests/integration/test_remote_model.py). This one answers each call with the
next scripted answer, and a completion once the script is spent; it keeps every
request it got (headers included: it is the test's own server, and a test of where
the API key goes needs them).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

import orjson

COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "scripted",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "a headline"},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
}


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: Any = field(default_factory=lambda: COMPLETION)
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds before answering (a slow endpoint).
    delay_s: float = 0.0


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class ScriptedEndpoint:
    """`with ScriptedEndpoint(Answer(429), Answer(429)) as endpoint:` then call
    `endpoint.base_url`; `endpoint.received` says what came."""

    def __init__(self, *script: Answer) -> None:
        self.script: deque[Answer] = deque(script)
        self.received: list[Received] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                endpoint._serve(self, b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                endpoint._serve(self, self.rfile.read(length))

            def log_message(self, format: str, *args: Any) -> None:
                pass  # a test's output is its assertions'

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def _serve(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        self.received.append(
            Received(
                handler.command,
                handler.path,
                {k.lower(): v for k, v in handler.headers.items()},
                orjson.loads(raw) if raw else None,
            )
        )
        answer = self.script.popleft() if self.script else Answer()
        if answer.delay_s:
            time.sleep(answer.delay_s)
        body = answer.body if isinstance(answer.body, bytes) else orjson.dumps(answer.body)
        try:
            handler.send_response(answer.status)
            handler.send_header("content-type", "application/json")
            handler.send_header("content-length", str(len(body)))
            for name, value in answer.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting: what a slow endpoint's client does

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
