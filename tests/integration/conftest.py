"""One real mesh for the whole integration session, and the tools the tests drive it with.

The stack is the dev stack the developers run: the embedded Tansu broker, a
Redis the suite started itself, two orchestrator replicas and one vat-rates
micromodel, each a separate OS process. `ghost` is in the orchestrator's
catalogue although nothing serves it: tests play it (or let it stay silent)
by reading and answering `slmesh.tasks.ghost` themselves.

Tests share the stack, so each one works only with request ids, keys and
bytes of its own, and reads topics through taps that start at the end of
each partition and filter by what the test sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from slmesh.cli.devstack import DevStack, RedisHandle, ServiceProcess
from slmesh.runtime.client import MeshClient
from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.trust import response_topic
from tests.support.identities import DEV_CALLER
from tests.support.kit import (
    DEFAULT_TIMEOUT_MS,
    GHOST,
    ORCHESTRATORS,
    SLOW_SERVICE,
    WAIT_S,
    RawProducer,
    TopicTap,
)
from tests.support.mesh import (
    logged_mesh,
    own_micromodel,
    pipelines_dir,
    until_every_orchestrator_answers,
)
from tests.support.otlp_receiver import OtlpReceiver

# --- the mesh -----------------------------------------------------------------------


@pytest.fixture(scope="session")
async def stack(
    redis_server: RedisHandle, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[DevStack]:
    async with logged_mesh(
        tmp_path_factory,
        "mesh",
        redis_server,
        pipelines_dir=pipelines_dir(tmp_path_factory),
        orchestrator_replicas=len(ORCHESTRATORS),
        micromodel_replicas=1,
        extra_catalogue=[GHOST],
        # The summarizer's context small enough that a long text overflows it
        # (test_summarizer_service); the orchestrator's is the default, as a deployed one
        # plans with: its routing prompt lists every live tool and pipeline.
        micromodel_env={"summarizer": {"SLMESH_MODEL__CONTEXT": "1024"}},
        env={
            "SLMESH_DEFAULT_TIMEOUT_MS": str(DEFAULT_TIMEOUT_MS),
            # A record that keeps failing is given up after seconds, not ~45 s
            # (test_no_wedge).
            "SLMESH_RECORD_RETRIES": "3",
            # The composer model is off by default; its opening is tested here.
            "SLMESH_COMPOSER": "model",
        },
    ) as mesh:
        await until_every_orchestrator_answers(mesh.settings())
        yield mesh
        # A service that died during the session (say, on a poison record) fails it.
        down = [s for s in mesh.services if s.state != "running"]
        assert not down, "services went down during the session: " + "; ".join(
            f"{s.name} {s.state}: {s.recent_output()[-20:]}" for s in down
        )


@pytest.fixture(scope="session")
def settings(stack: DevStack) -> MeshSettings:
    return stack.settings()


@pytest.fixture(scope="session")
async def mesh(settings: MeshSettings) -> AsyncIterator[MeshClient]:
    async with MeshClient(settings, source="/slmesh/integration-tests") as client:
        yield client


@pytest.fixture(scope="session")
async def raw(settings: MeshSettings) -> AsyncIterator[RawProducer]:
    producer = RawProducer(settings)
    await producer.start()
    yield producer
    await producer.stop()


async def _tap(settings: MeshSettings, topic: str) -> AsyncIterator[TopicTap]:
    tap = TopicTap(settings, topic)
    await tap.start()
    yield tap
    await tap.stop()


@pytest.fixture(scope="session")
async def responses(settings: MeshSettings) -> AsyncIterator[TopicTap]:
    """The dev caller's response topic: where the `mesh` client is answered."""
    async for tap in _tap(settings, response_topic(settings.responses_topic, DEV_CALLER)):
        yield tap


@pytest.fixture(scope="session")
async def deadletters(settings: MeshSettings) -> AsyncIterator[TopicTap]:
    async for tap in _tap(settings, settings.deadletter_topic):
        yield tap


@pytest.fixture(scope="session")
async def ghost_tasks(settings: MeshSettings) -> AsyncIterator[TopicTap]:
    async for tap in _tap(settings, settings.task_topic(GHOST)):
        yield tap


@pytest.fixture(scope="session")
async def vat_tasks(settings: MeshSettings) -> AsyncIterator[TopicTap]:
    async for tap in _tap(settings, settings.task_topic("vat-rates")):
        yield tap


@pytest.fixture(scope="session")
async def mesh_replies(settings: MeshSettings) -> AsyncIterator[TopicTap]:
    """The mesh's replies topic: where a micromodel answers the tasks the tests put on its
    topic (the only topic it answers on), keyed by request ids of the tests' own."""
    async for tap in _tap(settings, settings.replies_topic):
        yield tap


@pytest.fixture(scope="module")
async def slow(stack: DevStack, mesh: MeshClient) -> AsyncIterator[ServiceProcess]:
    """The slow micromodel (tests/support/slow_service.py), callable: its call stays pending
    for as many seconds as it is asked to, so a test can act meanwhile. One per module:
    test_slow_models starts replicas of its own."""
    async with own_micromodel(stack, SLOW_SERVICE, "slow-1", SLMESH_HEARTBEAT_S="1") as service:
        # Callable once every orchestrator replica has read its announcement: a batch
        # of requests spread over the partitions (so over both replicas) all answered.
        nap = [{"micromodel": "slow", "arguments": {"seconds": 0}}]
        async with asyncio.timeout(WAIT_S):
            while True:
                answers = await asyncio.gather(
                    *(
                        mesh.ask("nap", timeout_s=WAIT_S, timeout_ms=2000, calls=nap)
                        for _ in range(8)
                    )
                )
                if all(answer.data.status == "ok" for answer in answers):
                    break
                await asyncio.sleep(0.3)
        yield service


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    """An OTLP/HTTP receiver in the suite, for a module's own mesh to export its spans to
    (OTEL_EXPORTER_OTLP_ENDPOINT): what an operator's Jaeger would get."""
    receiver = OtlpReceiver().start()
    yield receiver
    receiver.stop()
