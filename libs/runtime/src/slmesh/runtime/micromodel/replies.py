"""Replies kept by task id, so a redelivered task is answered without running again.

At-least-once delivery redelivers a task whose offset was not committed — its
replica died after replying, or a rebalance moved the partition. Running
inference again would cost model time and could answer differently; the
stored reply is sent again instead, byte for byte (the orchestrator counts a
reply once either way). Redis being away only loses this saving, never a task.
"""

from __future__ import annotations

import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from slmesh.runtime.redis_connection import connect_redis
from slmesh.runtime.settings import MeshSettings

logger = logging.getLogger(__name__)


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

    def _key(self, task_id: str) -> str:
        return f"{self._ns}:reply:{task_id}"

    async def get(self, task_id: str) -> bytes | None:
        try:
            raw = await self._redis.get(self._key(task_id))
        except (RedisError, OSError) as exc:
            logger.warning("stored replies unavailable (%s): task %s runs", exc, task_id)
            return None
        return raw if isinstance(raw, bytes) else None

    async def put(self, task_id: str, reply: bytes) -> None:
        try:
            await self._redis.set(self._key(task_id), reply, px=self._ttl_ms)
        except (RedisError, OSError) as exc:
            logger.warning("reply of task %s not stored (%s)", task_id, exc)

    async def close(self) -> None:
        await self._redis.aclose()
