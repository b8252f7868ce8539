"""A service's HTTP face for its operators: Prometheus metrics, liveness and readiness.

`GET /metrics`: the Prometheus exposition (service.metrics). `GET /livez`:
200 while the event loop answers and no model call has run past its limit
(a stuck model thread: restarting helps). `GET /readyz`: 200 when every
consumer is a member of its group (holding partitions, or idle in it), and
the broker and Redis answer; 503 with the reasons otherwise. These are what
Kubernetes probes ask; the body says why, for a human.

Served with asyncio alone: a handful of GETs a minute needs no web framework.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

logger = logging.getLogger(__name__)

# A check: the reasons it fails now, or none.
Check = Callable[[], list[str]]


@dataclass
class HealthServer:
    port: int
    # Loopback unless told otherwise: the service's settings say where
    # (MeshSettings.http_bind_host), and only production opens every interface.
    host: str = "127.0.0.1"
    liveness: Sequence[Check] = ()
    readiness: Sequence[Check] = ()
    _server: asyncio.Server | None = field(default=None, init=False)

    @property
    def bound_port(self) -> int | None:
        if self._server is None or not self._server.sockets:
            return None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        logger.info(
            "health and metrics on http://%s:%d (/livez, /readyz, /metrics)",
            self.host,
            self.bound_port,
        )

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            with contextlib.suppress(Exception):
                await server.wait_closed()

    def answer(self, path: str) -> tuple[int, str, bytes]:
        """(status, content type, body) for a GET of `path`."""
        if path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, generate_latest()
        checks = {"/livez": self.liveness, "/healthz": self.liveness, "/readyz": self.readiness}
        if path not in checks:
            return 404, "text/plain", b"not found: try /livez, /readyz or /metrics\n"
        failing = [reason for check in checks[path] for reason in check()]
        body = orjson.dumps({"ok": not failing, "failing": failing}) + b"\n"
        return (503 if failing else 200), "application/json", body

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(5):
                request_line = await reader.readline()
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass  # headers: nothing in them matters here
            parts = request_line.decode("latin-1").split()
            if len(parts) < 2 or parts[0] not in ("GET", "HEAD"):
                status, kind, body = 405, "text/plain", b"GET only\n"
            else:
                status, kind, body = self.answer(parts[1].split("?")[0])
            reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}.get(
                status, "Service Unavailable"
            )
            head = (
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + (body if parts[:1] != ["HEAD"] else b""))
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
