"""A TLS-terminating proxy in front of the embedded broker, for the secured-connection tests.

The embedded broker's own TLS does not work in this build (with `--cert` alone
it still serves plaintext, and `--cert` with `--key` is refused by its command
line), so TLS is terminated here: real TLS with a CA, a server certificate and
(for mutual TLS) a required client certificate, each connection piped to the
broker's plaintext listener. The broker advertises the proxy's port, so every
connection a client makes after bootstrapping comes through here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl

from slmesh.cli.devstack import free_port

HOST = "127.0.0.1"


class TlsProxy:
    def __init__(self, upstream_port: int, context: ssl.SSLContext) -> None:
        self.upstream_port = upstream_port
        self.context = context
        self.port = free_port()
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, HOST, self.port, ssl=self.context, ssl_handshake_timeout=5
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _serve(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        self.connections += 1
        try:
            broker_in, broker_out = await asyncio.open_connection(HOST, self.upstream_port)
        except OSError:
            client_out.close()
            return
        pipes = [
            asyncio.create_task(_pipe(client_in, broker_out)),
            asyncio.create_task(_pipe(broker_in, client_out)),
        ]
        self._pipes.update(pipes)
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pipe in pipes:
                pipe.cancel()
                self._pipes.discard(pipe)
            for writer in (client_out, broker_out):
                writer.close()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, ssl.SSLError, asyncio.IncompleteReadError):
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()


def server_context(
    cert_pem: str, key_pem: str, ca_pem: str | None, *, require_client_cert: bool
) -> ssl.SSLContext:
    """The proxy's side: its certificate, and the CA its clients' certificates must chain to."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_pem, key_pem)
    if require_client_cert:
        assert ca_pem is not None
        context.load_verify_locations(ca_pem)
        context.verify_mode = ssl.CERT_REQUIRED
    return context
