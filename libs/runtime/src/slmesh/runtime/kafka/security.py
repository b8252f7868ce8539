"""How a Kafka client of this process connects: TLS, mutual TLS and SASL, from the settings.

One mapping for every client kind, so FastStream's broker, the raw aiokafka
consumers, producers and admin clients of the CLI and the services can never
disagree on how to reach the same broker.

FastStream's security objects are imported only for a secured connection: a
plaintext client (`slmesh ask` on a dev mesh) then never loads FastStream.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiokafka.abc import AbstractTokenProvider

from slmesh.runtime.settings import MeshSettings

if TYPE_CHECKING:
    from faststream.security import BaseSecurity


class KafkaSecurityError(ValueError):
    """The TLS material the settings name cannot be used (unreadable, or not a match)."""


class TokenFromFile(AbstractTokenProvider):  # type: ignore[misc]
    """OAUTHBEARER: the token in a file, read for each authentication.

    A token mounted from a secret store is rotated in place; reading it once
    at start would present an expired one at the next reconnect.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    async def token(self) -> str:
        return self.path.read_text().strip()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TokenFromFile) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)


def ssl_context_for(settings: MeshSettings) -> ssl.SSLContext:
    """The TLS context of a client: the CA (else the system's), a client certificate if set."""
    return _ssl_context(
        settings.kafka_ssl_ca_file,
        settings.kafka_ssl_cert_file,
        settings.kafka_ssl_key_file,
        settings.kafka_ssl_key_password.get_secret_value()
        if settings.kafka_ssl_key_password
        else None,
        settings.kafka_ssl_check_hostname,
    )


@cache
def _ssl_context(
    ca_file: Path | None,
    cert_file: Path | None,
    key_file: Path | None,
    key_password: str | None,
    check_hostname: bool,
) -> ssl.SSLContext:
    # One context per process and material: each makes the handshake's trust
    # store anew, and a process opens several clients.
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    context.check_hostname = check_hostname
    if cert_file is not None and key_file is not None:
        try:
            context.load_cert_chain(str(cert_file), str(key_file), password=key_password)
        except (ssl.SSLError, OSError) as exc:
            raise KafkaSecurityError(
                f"client certificate {cert_file} with key {key_file} cannot be used: {exc}"
            ) from exc
    return context


def kafka_connection(settings: MeshSettings) -> dict[str, Any]:
    """aiokafka's connection keyword arguments: servers, protocol, TLS context and SASL.

    Read off FastStream's security object (broker_security) by FastStream's own
    parser, the one its broker uses: a raw client connects as the broker does.
    """
    security, extra = broker_security(settings)
    parsed: dict[str, Any] = {}
    if security is not None:
        from faststream.kafka.security import parse_security

        parsed = parse_security(security)
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": "PLAINTEXT",
        **parsed,
        **extra,
    }
    if kwargs.get("ssl_context") is None:
        kwargs.pop("ssl_context", None)
    return kwargs


def broker_security(settings: MeshSettings) -> tuple[BaseSecurity | None, dict[str, Any]]:
    """FastStream's security object for the same connection, and its extra broker arguments.

    FastStream turns the object back into aiokafka's arguments (and into the
    AsyncAPI document's server security); kafka_connection reads it the same way.
    """
    protocol = settings.security_protocol
    context = ssl_context_for(settings) if protocol in ("SSL", "SASL_SSL") else None
    if protocol == "PLAINTEXT":
        return None, {}
    from faststream.security import (
        BaseSecurity,
        SASLOAuthBearer,
        SASLPlaintext,
        SASLScram256,
        SASLScram512,
    )

    if protocol == "SSL":
        return BaseSecurity(ssl_context=context, use_ssl=True), {}
    use_ssl = protocol == "SASL_SSL"
    mechanism = settings.kafka_sasl_mechanism
    if mechanism == "OAUTHBEARER":
        assert settings.kafka_oauth_token_file is not None
        provider = TokenFromFile(settings.kafka_oauth_token_file)
        security = SASLOAuthBearer(ssl_context=context, use_ssl=use_ssl)
        return security, {"sasl_oauth_token_provider": provider}
    assert settings.kafka_username is not None
    assert settings.kafka_password is not None
    kinds: dict[str, type[SASLPlaintext | SASLScram256 | SASLScram512]] = {
        "PLAIN": SASLPlaintext,
        "SCRAM-SHA-256": SASLScram256,
        "SCRAM-SHA-512": SASLScram512,
    }
    security_kind = kinds[mechanism]
    return security_kind(
        username=settings.kafka_username,
        password=settings.kafka_password.get_secret_value(),
        ssl_context=context,
        use_ssl=use_ssl,
    ), {}


# An ApiVersions request (key 18, version 0, correlation id 1, client id "slmesh"):
# the smallest request every Kafka broker answers before authentication.
_API_VERSIONS = b"\x00\x12\x00\x00\x00\x00\x00\x01\x00\x06slmesh"
_PROBE = len(_API_VERSIONS).to_bytes(4, "big") + _API_VERSIONS


async def check_tls(settings: MeshSettings, *, within_s: float = 5.0) -> bool:
    """Whether a bootstrap server answers over TLS with this process's material.

    The servers are tried in turn, as the Kafka clients try them: one that
    cannot be reached (down, or starting) passes to the next. Returns False
    when none can be reached: wait and ask again. Raises KafkaSecurityError
    when TLS itself fails: an untrusted or misnamed server certificate, or a
    server refusing this client's certificate or its absence. Waiting cannot
    mend those, and aiokafka would only log them and keep retrying "Unable to
    bootstrap".
    """
    context = ssl_context_for(settings)
    for server in (s.strip() for s in settings.bootstrap_servers.split(",") if s.strip()):
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit():
            # A server written without its port: Kafka's default.
            host, port = server, "9092"
        host = host.strip("[]")
        try:
            # A blocking socket, in a thread: asyncio's TLS transport reports a server's
            # refusal of the client certificate (TLS 1.3 sends it after the handshake)
            # as a bare end of stream, without the alert that says why.
            await asyncio.to_thread(_tls_round_trip, host, int(port), context, within_s)
        except ssl.SSLError as exc:
            raise KafkaSecurityError(_tls_failure(settings, server, exc)) from exc
        except OSError:
            continue
        return True
    return False


def _tls_round_trip(host: str, port: int, context: ssl.SSLContext, within_s: float) -> None:
    with (
        socket.create_connection((host, port), timeout=within_s) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        tls.sendall(_PROBE)
        # The answer's length: the server took this client. With TLS 1.3 a server
        # refuses a client certificate (or its absence) after the handshake: an
        # alert, or (from some servers) a bare close. Either way it is a refusal
        # of this client, not a broker that is away: that fails to connect.
        if len(tls.recv(4)) == 0:
            raise ssl.SSLError(
                "the broker closed the TLS connection right after the handshake without answering"
            )


def _tls_failure(settings: MeshSettings, server: str, exc: ssl.SSLError) -> str:
    reason = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        hint = (
            f"the broker's certificate is not trusted by SLMESH_KAFKA_SSL_CA_FILE="
            f"{settings.kafka_ssl_ca_file or '(the system store)'}"
        )
    elif "WRONG_VERSION_NUMBER" in str(exc).upper():
        hint = "that listener does not speak TLS: check the port and SLMESH_KAFKA_SECURITY_PROTOCOL"
    elif "CERTIFICATE_REQUIRED" in str(exc).upper() or settings.kafka_ssl_cert_file is None:
        hint = (
            "the broker wants a client certificate: set SLMESH_KAFKA_SSL_CERT_FILE and "
            "SLMESH_KAFKA_SSL_KEY_FILE"
        )
    else:
        hint = "the broker refused this client's TLS (client certificate, or protocol)"
    return f"TLS to the broker at {server} failed: {reason} ({hint})"
