"""Concurrent handling of a subscriber's records, with offsets committed only once handled.

A record is admitted in offset order, handled in its own task, and its offset
becomes committable only when its handler (which publishes the reply) has
finished and every earlier record of its partition has too. Commits go out
in the background, coalesced, off the hot path: a commit round trip per
record would otherwise cost more than the hop itself.

At-least-once: a crash loses only uncommitted offsets, whose records are
redelivered; a handler that raises leaves its offset uncommitted (and so
every later offset of that partition) until the record is redelivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord
from faststream import StreamMessage

logger = logging.getLogger(__name__)

RecordHandler = Callable[[ConsumerRecord[bytes, bytes]], Awaitable[None]]


@dataclass
class _Partition:
    in_flight: set[int] = field(default_factory=set)
    highest_done: int = -1
    committed: int = -1

    def commit_point(self) -> int:
        """The offset to commit: the first record not yet handled."""
        return min(self.in_flight) if self.in_flight else self.highest_done + 1


class ConcurrentConsumption:
    """The FastStream handler of one subscriber; `handle` runs once per record."""

    def __init__(
        self,
        name: str,
        handle: RecordHandler,
        *,
        max_in_flight: int = 64,
        commit_interval_s: float = 0.02,
    ) -> None:
        self.name = name
        self._handle = handle
        self._slots = asyncio.Semaphore(max_in_flight)
        self._commit_interval_s = commit_interval_s
        self._partitions: dict[TopicPartition, _Partition] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._consumer: Any = None
        self._dirty = asyncio.Event()
        self._closing = False
        self._committer: asyncio.Task[None] | None = None

    async def on_message(self, message: StreamMessage[Any]) -> None:
        record = message.raw_message
        assert isinstance(record, ConsumerRecord)
        if self._closing:
            # Never return for a record we will not handle: FastStream would
            # hand us the next one, and committing that would skip this one.
            await asyncio.Event().wait()
        self._consumer = getattr(message, "consumer", None)
        self._ensure_committer()
        await self._slots.acquire()
        tp = TopicPartition(record.topic, record.partition)
        self._partitions.setdefault(tp, _Partition()).in_flight.add(record.offset)
        task = asyncio.create_task(self._run(tp, record), name=f"{self.name}@{record.offset}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, tp: TopicPartition, record: ConsumerRecord[bytes, bytes]) -> None:
        partition = self._partitions[tp]
        try:
            await self._handle(record)
        except Exception:
            logger.exception(
                "%s: record %s[%d]@%d failed; its offset stays uncommitted and it will be "
                "redelivered",
                self.name,
                record.topic,
                record.partition,
                record.offset,
            )
            return
        finally:
            self._slots.release()
        partition.in_flight.discard(record.offset)
        partition.highest_done = max(partition.highest_done, record.offset)
        self._dirty.set()

    def _ensure_committer(self) -> None:
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(
                self._commit_forever(), name=f"{self.name}-commit"
            )

    async def _commit_forever(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            await self.commit()
            # Coalesce: a burst of records becomes one commit per interval.
            await asyncio.sleep(self._commit_interval_s)

    async def commit(self) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        offsets = {
            tp: p.commit_point()
            for tp, p in self._partitions.items()
            if p.commit_point() > p.committed
        }
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except Exception as exc:
            # After a rebalance the partition may be someone else's; its records
            # are then redelivered there, which at-least-once allows.
            logger.warning("%s: commit of %s failed: %s", self.name, offsets, exc)
            return
        for tp, offset in offsets.items():
            self._partitions[tp].committed = offset

    async def drain(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Stop admitting records, let in-flight ones finish, commit what they handled."""
        self._closing = True
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            if pending:
                logger.warning(
                    "%s: %d records still in flight at shutdown", self.name, len(pending)
                )
        if self._committer is not None:
            self._committer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._committer
        await self.commit()
