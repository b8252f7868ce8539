"""The stand-in cloud's process: llama.cpp's own OpenAI-compatible server, which records what
it is sent and, when started with --faults, fails on purpose.

    python -m slmesh.cli.devstack.stand_in_server --model PATH --alias ID --port N \\
        --record FILE [--faults]

The API key it demands, if any, comes in the environment (`SLMESH_STANDIN_API_KEY`), never
on the command line, which every user of the machine can read. Two ASGI layers wrap
llama_cpp.server.app.create_app:

- `Recorder` (outermost) appends one JSON line per request to the record file as its
  answer starts (before the client can have it): method, path, the Authorization
  header's scheme (never its credentials), the body (JSON when it is), the status it got
  (None: the client left first);
- `Faults` (only with --faults) takes `POST /_standin/faults` — `{"status": 429,
  "count": 2, "retry_after": 1}` answers the next two calls 429 with that Retry-After;
  `{"delay_ms": 3000}` holds every call 3 s before the model answers it; without
  `count`, until `DELETE /_standin/faults` — so rate limits, server errors and slowness
  are real HTTP behaviour of a real server. Faults hit the API's POST calls only: the
  model list (readiness, a service's start-up probe) keeps answering.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

# An ASGI application, as uvicorn runs it.
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

API_KEY_ENV = "SLMESH_STANDIN_API_KEY"
FAULTS_PATH = "/_standin/faults"
# The chat template the server applies: Gemma's turns. The default model's GGUF carries a
# Jinja template too; the named format is the one llama-cpp-python tests and ships.
CHAT_FORMAT = "gemma"


async def _body_of(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the app the body already read, then what the client does next."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _answer(
    send: Send, status: int, body: Any, headers: dict[str, str] | None = None
) -> None:
    raw = orjson.dumps(body)
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    head += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": raw})


class Recorder:
    """Appends every exchange to a JSON-lines file once it is answered (or abandoned)."""

    def __init__(self, app: App, path: Path) -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await _body_of(receive)
        written = False

        async def watched(message: Message) -> None:
            nonlocal written
            if message["type"] == "http.response.start" and not written:
                # Before the answer goes out: whoever got it finds its record.
                self._write(scope, body, int(message["status"]))
                written = True
            await send(message)

        try:
            await self.app(scope, _replaying(body, receive), watched)
        finally:
            if not written:  # the client left before any answer
                self._write(scope, body, None)

    def _write(self, scope: Scope, body: bytes, status: int | None) -> None:
        headers = dict(scope.get("headers") or [])
        authorization = headers.get(b"authorization", b"").decode(errors="replace")
        try:
            parsed: Any = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            parsed = body.decode(errors="replace")
        line = {
            "at": time.time(),
            "method": scope["method"],
            "path": scope["path"],
            # The scheme alone: a record is no place for a credential.
            "authorization": authorization.split(" ", 1)[0] or None,
            "body": parsed,
            "status": status,
        }
        with self.path.open("ab") as out:
            out.write(orjson.dumps(line) + b"\n")


@dataclass
class Fault:
    status: int | None = None
    retry_after: str | None = None
    delay_ms: int = 0
    # Calls left to fail; None: until cleared.
    count: int | None = None


class Faults:
    """Fails the API's POST calls as the test asks, at run time."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.fault: Fault | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == FAULTS_PATH:
            await self._control(scope, receive, send)
            return
        fault = self._take() if scope["method"] == "POST" else None
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.delay_ms:
            body = await _body_of(receive)
            if await self._client_left_within(receive, fault.delay_ms / 1000):
                return  # nobody to answer: no inference for them
            receive = _replaying(body, receive)
        if fault.status is not None:
            headers = {"retry-after": fault.retry_after} if fault.retry_after is not None else {}
            message = f"stand-in fault: {fault.status}"
            await _answer(send, fault.status, {"error": {"message": message}}, headers)
            return
        await self.app(scope, receive, send)

    def _take(self) -> Fault | None:
        fault = self.fault
        if fault is None:
            return None
        if fault.count is not None:
            fault.count -= 1
            if fault.count <= 0:
                self.fault = None
        return fault

    @staticmethod
    async def _client_left_within(receive: Receive, seconds: float) -> bool:
        """Wait `seconds`, or less if the client hangs up: whether it did."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while (await receive())["type"] != "http.disconnect":
                    pass
                return True
        return False

    async def _control(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _body_of(receive)
        if scope["method"] == "DELETE":
            self.fault = None
        elif scope["method"] == "POST":
            asked = orjson.loads(body or b"{}")
            retry_after = asked.get("retry_after")
            self.fault = Fault(
                status=asked.get("status"),
                retry_after=str(retry_after) if retry_after is not None else None,
                delay_ms=int(asked.get("delay_ms", 0)),
                count=asked.get("count"),
            )
        fault = self.fault
        await _answer(send, 200, {"fault": fault.__dict__ if fault else None})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="the GGUF file")
    parser.add_argument("--alias", required=True, help="the model id the API answers to")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", type=Path, required=True, help="JSON lines, appended")
    parser.add_argument("--faults", action="store_true", help="take faults at run time")
    parser.add_argument("--context", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    # Here, not at the top: the CLI is importable without its dev extra.
    import uvicorn
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    host = "127.0.0.1"
    server = ServerSettings(host=host, port=args.port, api_key=os.environ.get(API_KEY_ENV) or None)
    model = ModelSettings(
        model=args.model,
        model_alias=args.alias,
        chat_format=CHAT_FORMAT,
        n_ctx=args.context,
        n_threads=args.threads,
        n_threads_batch=args.threads,
        verbose=False,
    )
    app: App = create_app(server_settings=server, model_settings=[model])
    if args.faults:
        app = Faults(app)
    app = Recorder(app, args.record)
    uvicorn.run(app, host=host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
