"""More replicas than partitions: a replica holding none takes over when one frees.

A micromodel of the tests' own gets a task topic of one partition and two
replicas, so one of them is idle. The one answering is SIGKILLed; the idle
one must answer the next task.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

import pytest

from slmesh.cli.devstack import DevStack, ServiceProcess
from slmesh.runtime.kafka import ensure_topics
from slmesh.runtime.service import READY_MARKER
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import TaskCompleted, encode
from tests.support.kit import ECHO_SERVICE, WAIT_S, RawProducer, TopicTap, send_task, task_for

NAME = "spare"


@pytest.fixture
async def replicas(stack: DevStack, settings: MeshSettings) -> AsyncIterator[list[ServiceProcess]]:
    # One partition, created before the replicas start (they would make six).
    await ensure_topics(settings, [settings.task_topic(NAME)], partitions=1)
    env = {**stack.env(), "ECHO_NAME": NAME}
    started = [
        ServiceProcess(
            f"{NAME}-{tag}",
            [sys.executable, ECHO_SERVICE],
            {**env, "SLMESH_REPLICA": f"{NAME}-{tag}"},
            ready_pattern=READY_MARKER,
        )
        for tag in ("a", "b")
    ]
    try:
        for replica in started:
            await replica.start()
        for replica in started:
            await replica.wait_ready(60)
        yield started
    finally:
        for replica in started:
            await replica.stop()


async def answered_by(
    raw: RawProducer, settings: MeshSettings, replies: TopicTap, text: str
) -> str:
    """Put a task on the topic; the replica that answered it."""
    task = task_for(NAME, {"text": text}, replies.topic)
    await send_task(raw, settings, NAME, encode(task), key=task.data.task_id)
    [record] = await replies.wait_for(lambda r: r.key_text == task.requestid, timeout=WAIT_S)
    reply = record.event(TaskCompleted)
    assert reply.data.output == {"text": text.upper()}
    return reply.data.replica


async def test_an_idle_replica_takes_the_partition_of_one_that_dies(
    replicas: list[ServiceProcess],
    raw: RawProducer,
    settings: MeshSettings,
    mesh_replies: TopicTap,
) -> None:
    # Until the group has settled, the one partition may still move: wait for
    # the same replica to answer twice in a row, a second apart.
    holder = await answered_by(raw, settings, mesh_replies, "first")
    async with asyncio.timeout(WAIT_S):
        while True:
            await asyncio.sleep(1)
            again = await answered_by(raw, settings, mesh_replies, "settling")
            if again == holder:
                break
            holder = again
    [dying] = [r for r in replicas if r.name == holder]
    [idle] = [r for r in replicas if r.name != holder]
    dying.kill()
    await dying.wait(timeout=10)
    # The broker moves the partition once the dead member's session ends.
    assert await answered_by(raw, settings, mesh_replies, "after") == idle.name
    assert idle.returncode is None
