"""The benchmark's end of the raw hops: sends to t1 and waits for t4, in the benchmark process.

It reads t4 exactly as MeshClient reads the mesh's responses, so that the client's own
cost is the same on both sides and the ratio is the mesh's alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import orjson
from aiokafka import AIOKafkaProducer

from bench.overhead.plan import Sizes
from bench.overhead.relay import HEADERS, RawTopics, padded
from slmesh.runtime.client import follow_from_end
from slmesh.runtime.kafka import admin_kwargs, groupless_consumer, profile_for
from slmesh.runtime.lifecycle import Lifecycle
from slmesh.runtime.settings import MeshSettings


class RawClient(Lifecycle):
    """Sends to t1 and waits for t4, reading t4 exactly as MeshClient reads the responses."""

    def __init__(self, settings: MeshSettings, topics: RawTopics) -> None:
        profile = profile_for(settings)
        conn = admin_kwargs(settings)
        self.topics = topics
        self._producer = AIOKafkaProducer(**conn, **profile.producer)
        self._consumer = groupless_consumer(settings)
        self._waiting: dict[str, asyncio.Future[None]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._producer.start()
        await self._consumer.start()
        await follow_from_end(self._consumer, self.topics.responses)
        self._reader = asyncio.create_task(self._read(), name="raw-client-reader")

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._consumer.stop()
        await self._producer.stop()

    async def _read(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    rid = orjson.loads(record.value)["id"]
                    future = self._waiting.pop(rid, None)
                    if future is not None and not future.done():
                        future.set_result(None)

    async def ask(self, n: int, sizes: Sizes, timeout_s: float) -> None:
        rid = f"raw-{uuid.uuid4().hex}"
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[rid] = future
        value = padded(
            {"id": rid, "n": n, "sz": [sizes.task, sizes.reply, sizes.response]}, sizes.request
        )
        try:
            await self._producer.send_and_wait(
                self.topics.requests, value, key=rid.encode(), headers=HEADERS
            )
            await asyncio.wait_for(future, timeout_s)
        finally:
            self._waiting.pop(rid, None)
