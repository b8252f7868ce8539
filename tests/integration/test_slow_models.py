"""Slow and failing tasks on the real broker.

A task longer than the consumer session timeout keeps its replica in the
group; a task that keeps failing, or runs past its maximum, fails to the
dead-letter topic and the consumer moves on.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest

from slmesh.cli.devstack import DevStack, ServiceProcess
from slmesh.runtime.client import MeshClient
from slmesh.runtime.service import READY_MARKER
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import RequestCompleted, TaskCompleted, TaskFailed, TaskRequested, encode
from tests.support.kit import (
    SLOW_SERVICE,
    WAIT_S,
    RawProducer,
    Record,
    Sent,
    TopicTap,
    assert_dead_letter,
    dead_letter_of,
    send_task,
    task_for,
)
from tests.support.mesh import own_micromodel

# The tansu profile's session timeout is 4 s: a 9 s task spans two of them.
NAP_S = 9.0


async def ask_slow(mesh: MeshClient, seconds: float, timeout_ms: int) -> RequestCompleted:
    return await mesh.ask(
        "nap",
        timeout_s=WAIT_S + seconds,
        timeout_ms=timeout_ms,
        calls=[{"micromodel": "slow", "arguments": {"seconds": seconds}}],
    )


def registry_lines(stack: DevStack, answers: list[RequestCompleted]) -> str:
    """What failed, and what the orchestrators logged of the registry: which replica they
    took for gone, when, and after how long a silence."""
    failed = [a.data.answer for a in answers if a.data.status != "ok"]
    logged = [
        f"{service.name}: {line}"
        for service in stack.services
        if service.name.startswith("orchestrator")
        for line in service.recent_output()
        if "registry" in line or "replica " in line
    ]
    return "\n".join([*failed[:2], *logged[-40:]])


async def test_a_task_longer_than_the_session_timeout_keeps_group_membership(
    stack: DevStack, mesh: MeshClient
) -> None:
    slow = ServiceProcess(
        "slow-1",
        [sys.executable, SLOW_SERVICE],
        {**stack.env(), "SLMESH_REPLICA": "slow-1", "SLMESH_HEARTBEAT_S": "1"},
        ready_pattern=READY_MARKER,
    )
    await slow.start()
    try:
        await slow.wait_ready(60)
        # Callable once every orchestrator replica has read its card: requests spread over
        # the partitions (so over both replicas), all answered.
        for _ in range(40):
            ready = await asyncio.gather(*(ask_slow(mesh, 0, timeout_ms=2000) for _ in range(8)))
            if all(answer.data.status == "ok" for answer in ready):
                break
            await asyncio.sleep(0.3)
        assert all(answer.data.status == "ok" for answer in ready), registry_lines(stack, ready)

        answer = await ask_slow(mesh, NAP_S, timeout_ms=30_000)
        assert answer.data.status == "ok", registry_lines(stack, [answer])
        assert answer.data.calls[0].output == {"seconds": NAP_S}
        # Heartbeats went on while the handler blocked its thread: the replica
        # was assigned its partitions once and never lost them.
        log = "\n".join(slow.recent_output())
        assert log.count("assigned to partitions") == 1, log
        assert "rebalanc" not in log.lower(), log
    finally:
        await slow.stop()


CAPPED = "slow-capped"


@pytest.fixture
async def capped(stack: DevStack) -> AsyncIterator[ServiceProcess]:
    """The slow micromodel with a 2 s maximum run time and quick retries."""
    async with own_micromodel(
        stack,
        SLOW_SERVICE,
        f"{CAPPED}-1",
        SLOW_NAME=CAPPED,
        SLMESH_MAX_RUN_MS="2000",
        SLMESH_TASK_RETRIES="2",
        SLMESH_RETRY_BACKOFF_MS="50",
    ) as service:
        yield service


async def put_task(
    raw: RawProducer, settings: MeshSettings, replies: TopicTap, arguments: dict[str, Any]
) -> tuple[Sent, TaskRequested, Record]:
    """Put a task on the capped micromodel's topic; where it went, the task, its reply."""
    task = task_for(CAPPED, arguments, replies.topic)
    sent = await send_task(raw, settings, CAPPED, encode(task), key=task.data.task_id)
    [reply] = await replies.wait_for(lambda r: r.key_text == task.requestid, timeout=WAIT_S)
    return sent, task, reply


async def test_failing_and_overlong_tasks_fail_to_dead_letters_and_the_consumer_moves_on(
    capped: ServiceProcess,
    raw: RawProducer,
    settings: MeshSettings,
    mesh_replies: TopicTap,
    deadletters: TopicTap,
) -> None:
    """On the real broker: retries with backoff, then TaskFailed and a dead letter saying why."""
    # A handler that raises: tried three times (two retries), then failed.
    sent, task, reply = await put_task(raw, settings, mesh_replies, {"seconds": 0, "fail": True})
    failed = reply.event(TaskFailed)
    assert failed.data.task_id == task.data.task_id
    assert failed.data.error.code == "handler_error"
    assert "asked to fail" in failed.data.error.message
    dead = await dead_letter_of(deadletters, encode(task))
    assert_dead_letter(dead, sent, code="handler_error", service=CAPPED, attempts=3)
    assert sum("failed (attempt" in line for line in capped.recent_output()) == 2

    # A task over its maximum run time: failed at 2 s, not retried.
    sent, task, reply = await put_task(raw, settings, mesh_replies, {"seconds": 4})
    assert reply.event(TaskFailed).data.error.code == "run_time_exceeded"
    dead = await dead_letter_of(deadletters, encode(task))
    assert_dead_letter(dead, sent, code="run_time_exceeded", service=CAPPED, attempts=1)

    # The consumer moved on: the next task is answered.
    _, task, reply = await put_task(raw, settings, mesh_replies, {"seconds": 0})
    assert reply.event(TaskCompleted).data.output == {"seconds": 0}
    assert capped.returncode is None
