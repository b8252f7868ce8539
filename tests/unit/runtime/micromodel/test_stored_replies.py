"""A kept reply is found again only by a redelivery of the very task record it answered."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from slmesh.cli.devstack import RedisHandle
from slmesh.runtime.micromodel.replies import StoredReplies, task_identity
from slmesh.schemas import TaskRequested


@pytest.fixture
async def replies(redis_server: RedisHandle) -> AsyncIterator[StoredReplies]:
    kept = StoredReplies(
        aioredis.from_url(redis_server.url), namespace=f"t{uuid.uuid4().hex[:8]}", ttl_s=60
    )
    yield kept
    await kept.close()


def task(request_id: str = "req-1", reply_topic: str = "slmesh.replies") -> TaskRequested:
    return TaskRequested.create(
        data={
            "task_id": "req-1:1",
            "micromodel": "summarizer",
            "arguments": {"text": "a long story"},
            "deadline": "2999-01-01T00:00:00Z",
            "reply_topic": reply_topic,
        },
        source="/slmesh/orchestrator/orchestrator-1",
        request_id=request_id,
    )


async def test_a_redelivered_task_finds_its_reply(replies: StoredReplies) -> None:
    original = task()
    await replies.put(original, b"the reply")
    redelivered = TaskRequested.model_validate(original.model_dump())
    assert await replies.get(redelivered) == b"the reply"


async def test_a_task_reusing_the_task_id_finds_nothing(replies: StoredReplies) -> None:
    """The same task id, under another event (with its own reply topic, or not): another
    task, which must not be handed the first one's output."""
    original = task()
    await replies.put(original, b"the reply")
    assert await replies.get(task()) is None
    assert await replies.get(task(reply_topic="attacker.inbox")) is None
    elsewhere = original.model_copy(
        update={"data": original.data.model_copy(update={"reply_topic": "attacker.inbox"})}
    )
    assert await replies.get(elsewhere) is None


def test_the_identity_is_the_records_own() -> None:
    one = task()
    assert task_identity(one) == task_identity(TaskRequested.model_validate(one.model_dump()))
    # Any one part changed (here the request id, the same event otherwise): another task.
    other = one.model_copy(update={"requestid": "req-2"})
    assert task_identity(one) != task_identity(other)
