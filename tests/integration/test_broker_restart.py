"""The broker restarts and forgets everything: the mesh notices, carries on, and hangs nothing.

The embedded broker keeps topics in memory only (this Tansu is built without
its PostgreSQL and SQLite engines), so a restart loses every topic, record
and committed offset, while the services keep running.

- In development (services may create topics) the services create their
  topics again, a request that was waiting on a lost task is answered at
  once as failed with `state_lost` naming the cause (not at its deadline),
  and the next request is answered.
- In production (operators make topics) the services say which topics are
  missing and wait; once `slmesh topics apply` has made them, the next
  request is answered.

Each mesh is this module's own: restarting the suite's broker would touch
every other test.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from slmesh.cli.devstack import DevStack, EmbeddedBroker, RedisHandle
from slmesh.runtime.client import MeshClient
from slmesh.runtime.kafka import list_topics
from slmesh.runtime.trust import response_topic
from slmesh.schemas import RequestCompleted
from tests.support.identities import DEV_CALLER
from tests.support.kit import (
    GHOST,
    TopicTap,
    ghost_tasks_of,
    new_request,
    run_cli,
)
from tests.support.mesh import logged_mesh

# Long, so that a request answered soon after the restart was answered for the loss.
GHOST_DEADLINE_MS = 120_000
# The services look at the broker's topics every 5 s (their dependency watch).
NOTICED_S = 30.0


async def restart_broker(stack: DevStack) -> None:
    """Stop the stack's broker and start a new one on the same port: nothing kept."""
    old = stack.broker
    assert old is not None
    port, log = old.port, old.log_path
    await old.stop()
    stack.broker = EmbeddedBroker(port, log_path=log)
    await stack.broker.start()


async def answer_to(tap: TopicTap, request_id: str, within_s: float) -> RequestCompleted:
    records = await tap.wait_for(lambda r: r.key_text == request_id, count=1, timeout=within_s)
    return records[0].event(RequestCompleted)


@contextlib.asynccontextmanager
async def vat_mesh(
    name: str, redis: RedisHandle, factory: pytest.TempPathFactory, **env: str
) -> AsyncIterator[DevStack]:
    """A mesh of this module's own: the orchestrator (rules) and vat-rates."""
    async with logged_mesh(
        factory,
        name,
        redis,
        micromodels={"vat-rates": "slmesh.vat_rates"},
        env={"SLMESH_PLANNER": "rules", "SLMESH_REDIS_NAMESPACE": name, **env},
        extra_catalogue=[GHOST],
    ) as mesh:
        yield mesh


@pytest.fixture
async def dev_mesh(
    redis_server: RedisHandle, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[DevStack]:
    async with vat_mesh("restart-dev", redis_server, tmp_path_factory) as mesh:
        yield mesh


async def test_in_development_the_mesh_makes_its_topics_again_and_fails_what_was_lost(
    dev_mesh: DevStack,
) -> None:
    settings = dev_mesh.settings()
    async with MeshClient(settings, source="/slmesh/restart-test") as client:
        before = await client.ask("VAT rates in Germany", timeout_s=60)
        assert before.data.status == "ok", before.data.answer
        # Its task waits on a micromodel nobody serves: in flight when the broker goes.
        waiting = new_request(
            client,
            "ask the ghost",
            calls=[{"micromodel": GHOST, "arguments": {}}],
            timeout_ms=GHOST_DEADLINE_MS,
        )
        ghost_tasks = TopicTap(settings, settings.task_topic(GHOST))
        await ghost_tasks.start()
        try:
            await client.submit(waiting)
            # The orchestrator read it and its task went out: in flight now.
            await ghost_tasks_of(ghost_tasks, waiting.requestid, 1)
        finally:
            await ghost_tasks.stop()

    await restart_broker(dev_mesh)
    restarted = time.monotonic()

    # The services make their topics again (nobody else does here).
    await asyncio.gather(
        *(s.wait_for_line("created topics .* again", timeout=NOTICED_S) for s in dev_mesh.services)
    )
    # The dev caller's response topic among them: the orchestrator made it at start.
    own_topic = response_topic(settings.responses_topic, DEV_CALLER)
    assert own_topic in await list_topics(settings)
    responses = TopicTap(settings, own_topic)
    await responses.start(from_beginning=True)
    try:
        lost = await answer_to(responses, waiting.requestid, NOTICED_S)
        assert time.monotonic() - restarted < NOTICED_S  # not its two-minute deadline
        assert lost.data.status == "failed"
        assert lost.data.error is not None
        assert lost.data.error.code == "state_lost"
        assert "broker lost the mesh's topics" in lost.data.error.message
        assert lost.data.error.retryable

        # The next request is answered, on the new topics.
        async with MeshClient(settings, source="/slmesh/restart-test") as client:
            after = await client.ask("VAT rates in France", timeout_s=60)
        assert after.data.status == "ok", after.data.answer
        assert "France (FR)" in (after.data.answer or "")
    finally:
        await responses.stop()
    for service in dev_mesh.services:
        assert service.state == "running", service.recent_output()[-20:]


@pytest.fixture
async def production_mesh(
    redis_server: RedisHandle, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[DevStack]:
    # Operators make the topics (the dev stack did, before the services started).
    async with vat_mesh(
        "restart-prod",
        redis_server,
        tmp_path_factory,
        SLMESH_DEPLOYMENT="production",
        SLMESH_TOPIC_REPLICATION="1",
        SLMESH_TOPIC_MIN_INSYNC_REPLICAS="1",
    ) as mesh:
        yield mesh


async def test_in_production_the_services_name_the_missing_topics_and_wait_for_them(
    production_mesh: DevStack,
) -> None:
    settings = production_mesh.settings()
    await restart_broker(production_mesh)
    for service in production_mesh.services:
        await service.wait_for_line(
            r"waiting for topics .*slmesh\.replies.*slmesh topics apply", timeout=NOTICED_S
        )
    # Nobody made them: services in production create no topics.
    assert settings.requests_topic not in await list_topics(settings)

    job = await run_cli(
        production_mesh.env(), "topics", "apply", "--micromodel", "vat-rates", "--skip-acls"
    )
    assert job.returncode == 0, job.stdout + job.stderr

    async with MeshClient(settings, source="/slmesh/restart-test") as client:
        after = await client.ask("VAT rates in Italy", timeout_s=90)
    assert after.data.status == "ok", after.data.answer
    for service in production_mesh.services:
        assert service.state == "running", service.recent_output()[-20:]
