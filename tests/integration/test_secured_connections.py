"""Mutual TLS to the broker, for every client kind, through the same settings.

A broker of this module's own sits behind a TLS-terminating proxy
(tls_proxy.py) that requires a client certificate signed by the test's CA.
The services run in production posture: they create no topics, so the
topics are made first by `slmesh topics apply` (the operators' job), over
TLS too. Then a request is answered through the FastStream brokers of the
orchestrator and vat-rates, the raw aiokafka clients of the CLI and of the
requester, and the admin clients of the topics job. A wrong CA and a missing
client certificate each end a service at start with the reason, and the
mesh goes on answering.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from slmesh.cli.conventions import TLS_REFUSED
from slmesh.cli.devstack import EmbeddedBroker, RedisHandle, ServiceProcess, free_port
from slmesh.runtime.client import MeshClient
from slmesh.runtime.kafka import list_topics
from slmesh.runtime.service import MISCONFIGURED, READY_MARKER
from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.trust import response_topic
from tests.support.identities import DEV_CALLER
from tests.support.kit import Ran, run_cli
from tests.support.tls_proxy import TlsProxy, server_context

START_S = 90.0


@dataclass(frozen=True)
class Pki:
    ca: Path
    client_cert: Path
    client_key: Path
    wrong_ca: Path
    server_cert: Path
    server_key: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    where = tmp_path_factory.mktemp("pki")
    ca, stranger = trustme.CA(), trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("slmesh-service.example.org")
    files = Pki(
        ca=where / "ca.pem",
        client_cert=where / "client.pem",
        client_key=where / "client.key",
        wrong_ca=where / "wrong-ca.pem",
        server_cert=where / "server.pem",
        server_key=where / "server.key",
    )
    ca.cert_pem.write_to_path(str(files.ca))
    stranger.cert_pem.write_to_path(str(files.wrong_ca))
    client.private_key_pem.write_to_path(str(files.client_key))
    client.cert_chain_pems[0].write_to_path(str(files.client_cert))
    server.private_key_pem.write_to_path(str(files.server_key))
    server.cert_chain_pems[0].write_to_path(str(files.server_cert))
    return files


@dataclass
class SecuredMesh:
    env: dict[str, str]
    settings: MeshSettings
    proxy: TlsProxy
    services: list[ServiceProcess]
    topics_job: Ran


def secured_env(pki: Pki, bootstrap: str, redis_url: str, namespace: str) -> dict[str, str]:
    return {
        "SLMESH_BOOTSTRAP_SERVERS": bootstrap,
        "SLMESH_KAFKA_SECURITY_PROTOCOL": "SSL",
        "SLMESH_KAFKA_SSL_CA_FILE": str(pki.ca),
        "SLMESH_KAFKA_SSL_CERT_FILE": str(pki.client_cert),
        "SLMESH_KAFKA_SSL_KEY_FILE": str(pki.client_key),
        "SLMESH_REDIS_URL": redis_url,
        "SLMESH_REDIS_NAMESPACE": namespace,
        # Production posture on a one-broker cluster: operators make the topics.
        "SLMESH_DEPLOYMENT": "production",
        "SLMESH_TOPIC_REPLICATION": "1",
        "SLMESH_TOPIC_MIN_INSYNC_REPLICAS": "1",
        "SLMESH_PLANNER": "rules",
        "SLMESH_STARTUP_WAIT_S": "20",
    }


def service(name: str, module: str, env: dict[str, str]) -> ServiceProcess:
    return ServiceProcess(
        name,
        [sys.executable, "-m", module],
        {**env, "SLMESH_REPLICA": name},
        ready_pattern=READY_MARKER,
    )


@pytest.fixture(scope="module")
async def secured(
    pki: Pki, redis_server: RedisHandle, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[SecuredMesh]:
    broker_port = free_port()
    proxy = TlsProxy(
        broker_port,
        server_context(
            str(pki.server_cert), str(pki.server_key), str(pki.ca), require_client_cert=True
        ),
    )
    await proxy.start()
    workdir = Path(tmp_path_factory.mktemp("tls"))
    broker = EmbeddedBroker(
        broker_port, log_path=workdir / "broker.log", advertised_port=proxy.port
    )
    await broker.start()
    env = secured_env(
        pki, f"127.0.0.1:{proxy.port}", redis_server.url, f"tls{uuid.uuid4().hex[:6]}"
    )
    services: list[ServiceProcess] = []
    try:
        job = await run_cli(env, "topics", "apply", "--micromodel", "vat-rates", "--skip-acls")
        assert job.returncode == 0, job.stdout + job.stderr
        services = [
            service("vat-rates-tls", "slmesh.vat_rates", env),
            service("orchestrator-tls", "slmesh.orchestrator", env),
        ]
        for started in services:
            await started.start()
        await asyncio.gather(*(s.wait_ready(START_S) for s in services))
        settings = MeshSettings(**{k.removeprefix("SLMESH_").lower(): v for k, v in env.items()})  # type: ignore[arg-type]
        yield SecuredMesh(env, settings, proxy, services, job)
    finally:
        for running in services:
            await running.stop()
        await broker.stop()
        await proxy.stop()


async def test_the_topics_job_makes_every_topic_over_tls(secured: SecuredMesh) -> None:
    job = secured.topics_job
    assert job.returncode == 0, job.stderr
    assert "created" in job.stdout
    assert "min.insync.replicas=1" in job.stdout
    names = await list_topics(secured.settings)
    s = secured.settings
    # The job reads the trust file's callers (SLMESH_KEYRING_DIR): each one's response topic.
    dev_topic = response_topic(s.responses_topic, DEV_CALLER)
    expected = {s.requests_topic, s.replies_topic, dev_topic, s.deadletter_topic}
    assert expected | {s.task_topic("vat-rates"), s.registry_topic} <= names
    again = await run_cli(
        secured.env, "topics", "apply", "--micromodel", "vat-rates", "--skip-acls"
    )
    assert again.returncode == 0, again.stderr
    assert "0 created" in again.stdout


async def test_a_request_is_answered_through_mutual_tls(secured: SecuredMesh) -> None:
    before = secured.proxy.connections
    async with MeshClient(secured.settings, source="/slmesh/tls-test") as client:
        answer = await client.ask("What are the VAT rates in Germany?", timeout_s=60)
    assert answer.data.status == "ok", answer.data.answer
    assert "19" in (answer.data.answer or "")
    # The requester's own connections came through the proxy, none around it.
    assert secured.proxy.connections > before
    listing = await run_cli(secured.env, "topics")
    assert listing.returncode == 0, listing.stderr
    assert "slmesh.tasks.vat-rates" in listing.stdout


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"SLMESH_KAFKA_SSL_CA_FILE": "wrong_ca"}, "not trusted by SLMESH_KAFKA_SSL_CA_FILE"),
        (
            {"SLMESH_KAFKA_SSL_CERT_FILE": None, "SLMESH_KAFKA_SSL_KEY_FILE": None},
            "client certificate",
        ),
    ],
    ids=["wrong-ca", "no-client-certificate"],
)
async def test_a_service_whose_tls_cannot_work_ends_at_start_saying_why(
    secured: SecuredMesh, pki: Pki, change: dict[str, str | None], said: str
) -> None:
    env = dict(secured.env)
    for name, value in change.items():
        if value is None:
            env.pop(name)
        else:
            env[name] = str(getattr(pki, value))
    refused = service("vat-rates-refused", "slmesh.vat_rates", env)
    await refused.start()
    code = await refused.wait(timeout=60)
    output = "\n".join(refused.recent_output())
    assert code == MISCONFIGURED, output
    assert "TLS to the broker" in output
    assert said in output
    # The CLI says the same, with an exit code of its own.
    refused_cli = await run_cli(env, "topics")
    assert refused_cli.returncode == TLS_REFUSED, refused_cli.stderr
    assert said in refused_cli.stderr
    # The mesh is untouched: the next request is answered.
    async with MeshClient(secured.settings, source="/slmesh/tls-test") as client:
        answer = await client.ask("What are the VAT rates in France?", timeout_s=60)
    assert answer.data.status == "ok", answer.data.answer
