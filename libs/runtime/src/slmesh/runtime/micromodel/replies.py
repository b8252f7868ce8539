"""Replies kept by the task record they answer, so a redelivered task is answered without
running again.

At-least-once delivery redelivers a task whose offset was not committed — its
replica died after replying, or a rebalance moved the partition. Running
inference again would cost model time and could answer differently; the
stored reply is sent again instead, byte for byte (the orchestrator counts a
reply once either way). Redis being away only loses this saving, never a task.

A reply is kept under the identity of the whole task (`task_identity`), not its
task id alone: a task id is `<request id>:<n>`, which every reader of a
response learns, and a task record reusing it (with a reply topic of its own)
must not be handed another request's output. Only a redelivery of the very
same task record finds its reply.
"""

from __future__ import annotations

import hashlib
import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from slmesh.runtime.redis_connection import connect_redis
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import TaskRequested

logger = logging.getLogger(__name__)


def task_identity(task: TaskRequested) -> str:
    """What tells this task record from any other: a digest of its request id, task id,
    event id and reply topic (each length-prefixed, so no two tasks' parts can run
    together into the same bytes)."""
    parts = (task.requestid, task.data.task_id, task.id, task.data.reply_topic)
    digest = hashlib.sha256()
    for part in parts:
        raw = part.encode()
        digest.update(len(raw).to_bytes(4, "big") + raw)
    return digest.hexdigest()


class StoredReplies:
    def __init__(
        self, client: aioredis.Redis, *, namespace: str = "slmesh", ttl_s: int = 3600
    ) -> None:
        self._redis = client
        self._ns = namespace
        self._ttl_ms = ttl_s * 1000

    @classmethod
    def connect(cls, settings: MeshSettings) -> StoredReplies:
        """The replies kept in the mesh's Redis, under its key namespace."""
        # Short timeouts and no retries: a task must not wait on an optional saving.
        client = connect_redis(settings, socket_timeout=1.0, socket_connect_timeout=1.0)
        return cls(client, namespace=settings.redis_namespace)

    def key(self, task: TaskRequested) -> str:
        """The Redis key of a task's reply: its task id (for an operator's eye) and its
        identity (what finds it)."""
        return f"{self._ns}:reply:{task.data.task_id}:{task_identity(task)}"

    async def get(self, task: TaskRequested) -> bytes | None:
        try:
            raw = await self._redis.get(self.key(task))
        except (RedisError, OSError) as exc:
            logger.warning("stored replies unavailable (%s): task %s runs", exc, task.data.task_id)
            return None
        return raw if isinstance(raw, bytes) else None

    async def put(self, task: TaskRequested, reply: bytes) -> None:
        try:
            await self._redis.set(self.key(task), reply, px=self._ttl_ms)
        except (RedisError, OSError) as exc:
            logger.warning("reply of task %s not stored (%s)", task.data.task_id, exc)

    async def close(self) -> None:
        await self._redis.aclose()
