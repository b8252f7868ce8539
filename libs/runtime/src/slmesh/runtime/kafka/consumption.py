"""Concurrent handling of a subscriber's records, with offsets committed only once handled.

A record is admitted in offset order, handled in its own task, and its offset
becomes committable only when its handler (which publishes the reply) has
finished and every earlier record of its partition has too. Commits go out
in the background, coalesced, off the hot path: a commit round trip per
record would otherwise cost more than the hop itself.

At-least-once: a crash loses only uncommitted offsets, whose records are
redelivered. A handler that raises is tried again in place with backoff;
when it still fails, the record is given up (the service dead-letters it
and answers with a failure) and its offset becomes committable, so one bad
record never holds back its partition's commits for good. Only when giving
up fails too (the broker is away) is giving up tried again, with the same
backoff, until it succeeds or the partition is no longer ours (then its next
owner gets the record): nothing stays in flight for good.

Rebalances: when partitions are revoked, their in-flight records get a short
grace to finish and what is done is committed while the partitions are
still ours; then their marks are forgotten. A partition assigned again
starts from the group's committed offset with fresh marks, so nothing this
replica knew of an earlier ownership can move a commit (forwards past a
record nobody handled, or backwards).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import IllegalStateError
from aiokafka.structs import ConsumerRecord

from slmesh.runtime.backoff import backoff
from slmesh.runtime.kafka.pace import FetchPace
from slmesh.runtime.tracing import consumed, failed

if TYPE_CHECKING:
    # Only named: a client that imports this package (slmesh ask) need not load FastStream.
    from faststream import StreamMessage

logger = logging.getLogger(__name__)

RecordHandler = Callable[[ConsumerRecord[bytes, bytes]], Awaitable[None]]
# Called with the record, the last error and the number of attempts, once its
# retries are spent: dead-letter it and say so to whoever waits for it.
GiveUp = Callable[[ConsumerRecord[bytes, bytes], Exception, int], Awaitable[None]]
# The W3C traceparent a record's event carries in its body, for records whose
# producer put none in the headers (a CloudEvent's own attribute).
TraceparentOf = Callable[[ConsumerRecord[bytes, bytes]], str | None]


@dataclass
class _Partition:
    in_flight: set[int] = field(default_factory=set)
    highest_done: int = -1
    committed: int = -1

    def commit_point(self) -> int:
        """The offset to commit: the first record not yet handled."""
        return min(self.in_flight) if self.in_flight else self.highest_done + 1


class ConcurrentConsumption(ConsumerRebalanceListener):  # type: ignore[misc]
    """The FastStream handler of one subscriber; `handle` runs once per record.

    It is also the subscriber's rebalance listener (see `broker.subscribe`).
    """

    def __init__(
        self,
        name: str,
        handle: RecordHandler,
        *,
        give_up: GiveUp | None = None,
        pace: FetchPace | None = None,
        max_in_flight: int = 64,
        commit_interval_s: float = 0.02,
        revoke_grace_s: float = 1.0,
        retries: int = 8,
        first_retry_s: float = 0.5,
        group: str | None = None,
        traceparent_of: TraceparentOf | None = None,
    ) -> None:
        self.name = name
        # For the `process <topic>` span of each record (slmesh.runtime.tracing).
        self.group = group
        self._traceparent_of = traceparent_of
        # The FastStream subscriber (kafka.clients.subscribe): its consumer exists
        # once the broker has started, before any record comes.
        self.subscriber: Any = None
        self._handle = handle
        self._give_up = give_up
        # Shared with the process's other consumers: a record makes them all fetch fast.
        self.pace = pace
        # Records handled at once; the rest wait in Kafka.
        self.max_in_flight = max_in_flight
        self._slots = asyncio.Semaphore(max_in_flight)
        self._commit_interval_s = commit_interval_s
        # Short: the whole group waits for this replica to rejoin meanwhile.
        self._revoke_grace_s = revoke_grace_s
        # A raising handler met trouble outside the record (the broker or Redis
        # away for a while): the record is tried again in place, ~45 s in all.
        self._retry_delays_s = tuple(backoff(first_retry_s, 10.0, retries))
        self._partitions: dict[TopicPartition, _Partition] = {}
        # Each running record's task, with the partition it came from.
        self._tasks: dict[asyncio.Task[None], TopicPartition] = {}
        self._consumer: Any = None
        self._dirty = asyncio.Event()
        self._closing = False
        self._committer: asyncio.Task[None] | None = None
        # Counts rebalances: a record that waited for a slot across one is stale.
        self._revocations = 0

    async def on_message(self, message: StreamMessage[Any]) -> None:
        record = message.raw_message
        assert isinstance(record, ConsumerRecord)
        if self.pace is not None:
            self.pace.record_seen()
        if self._closing:
            # Never return for a record we will not handle: FastStream would
            # hand us the next one, and committing that would skip this one.
            await asyncio.Event().wait()
        consumer = getattr(message, "consumer", None)
        # FastStream's in-memory test broker hands out a consumer with no
        # offsets at all: nothing to commit, every record current.
        self._consumer = consumer if hasattr(consumer, "position") else None
        self._ensure_committer()
        revocations = self._revocations
        await self._slots.acquire()
        tp = TopicPartition(record.topic, record.partition)
        if revocations != self._revocations or not await self._handed_out_now(tp, record):
            # Fetched under an ownership that ended while it waited for a slot:
            # its partition's owner (maybe us again) fetches it anew from the
            # committed offset. Marks made from it could commit past records
            # this ownership has not seen.
            self._slots.release()
            logger.debug("%s: stale record %s@%d dropped", self.name, tp, record.offset)
            return
        # Created with its first record, so a partition's marks never claim
        # an offset before the one the group handed us.
        partition = self._partitions.setdefault(tp, _Partition())
        partition.in_flight.add(record.offset)
        task = asyncio.create_task(
            self._run(tp, partition, record), name=f"{self.name}@{record.offset}"
        )
        self._tasks[task] = tp
        task.add_done_callback(self._forget_task)

    async def _handed_out_now(
        self, tp: TopicPartition, record: ConsumerRecord[bytes, bytes]
    ) -> bool:
        """Whether the consumer handed `record` out under the current assignment.

        Handing a record out moves the partition's position past it; a new
        assignment resets the position to the committed offset.
        """
        if self._consumer is None:
            return True
        try:
            position: int = await self._consumer.position(tp)
        except IllegalStateError:  # no longer assigned here
            return False
        return bool(record.offset < position)

    def _live_consumer(self) -> Any:
        consumer = getattr(self.subscriber, "consumer", None)
        return consumer if consumer is not None else self._consumer

    def in_group(self) -> bool:
        """Whether the consumer is a member of its group now: holding partitions, or
        idle in it (a replica beyond the partition count holds none and is healthy).

        Reads aiokafka's coordinator, which has no public view of membership; a
        version that moves it reads as "not in group" (tests/unit/runtime/service/test_health.py).
        """
        consumer = self._live_consumer()
        if consumer is None:
            return False
        if consumer.assignment():
            return True
        coordinator = getattr(consumer, "_coordinator", None)
        generation = getattr(coordinator, "generation", -1)
        return bool(
            coordinator is not None
            and getattr(coordinator, "coordinator_id", None) is not None
            and isinstance(generation, int)
            and generation > 0
        )

    def lag_rows(self) -> list[tuple[str, str, int, int]]:
        """(group, topic, partition, records behind the end) for each partition held here:
        the end as last fetched, against what this consumer has committed (or, before
        its first commit, its position)."""
        consumer = self._live_consumer()
        if consumer is None:
            return []
        rows = []
        for tp in sorted(consumer.assignment()):
            end = consumer.highwater(tp)
            if end is None:
                continue
            marks = self._partitions.get(tp)
            done = marks.commit_point() if marks is not None else None
            if done is None or done < 0:
                continue
            rows.append((self.group or self.name, tp.topic, tp.partition, max(end - done, 0)))
        return rows

    def _forget_task(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)

    async def _run(
        self, tp: TopicPartition, partition: _Partition, record: ConsumerRecord[bytes, bytes]
    ) -> None:
        # `partition` is the marks of the ownership the record came with: if the
        # partition was revoked meanwhile, finishing here commits nothing.
        try:
            # Every record's handling is a span, the child of the one that sent
            # it: whatever the handler publishes continues the same trace.
            traceparent = self._traceparent_of(record) if self._traceparent_of else None
            with consumed(record, group=self.group, traceparent=traceparent):
                handled = await self._handle_with_retries(tp, partition, record)
        finally:
            self._slots.release()
        if not handled:
            return
        partition.in_flight.discard(record.offset)
        partition.highest_done = max(partition.highest_done, record.offset)
        self._dirty.set()

    async def _handle_with_retries(
        self, tp: TopicPartition, partition: _Partition, record: ConsumerRecord[bytes, bytes]
    ) -> bool:
        where = f"{self.name}: record {record.topic}[{record.partition}]@{record.offset}"
        for attempt, delay in enumerate((*self._retry_delays_s, None), start=1):
            try:
                await self._handle(record)
                return True
            except Exception as exc:
                if self._partitions.get(tp) is not partition or self._closing:
                    logger.exception(
                        "%s failed (attempt %d) and is no longer ours; its next owner gets it",
                        where,
                        attempt,
                    )
                    return False
                if delay is None:
                    return await self._abandon(tp, partition, record, exc, attempt, where)
                logger.warning(
                    "%s failed (attempt %d): %s; trying again in %.1f s", where, attempt, exc, delay
                )
                await asyncio.sleep(delay)
        return False

    async def _abandon(
        self,
        tp: TopicPartition,
        partition: _Partition,
        record: ConsumerRecord[bytes, bytes],
        exc: Exception,
        attempts: int,
        where: str,
    ) -> bool:
        """Retries are spent: give the record up. True when its offset may be committed.

        Giving up publishes (a dead letter, a failure answer): while the broker is
        away that fails too, and is tried again until the broker is back. A record
        left in flight instead would hold its partition's commits until a rebalance.
        """
        if self._give_up is None:
            logger.error(
                "%s failed %d times: %s; its offset stays uncommitted", where, attempts, exc
            )
            return False
        logger.error("%s failed %d times: %s; giving it up", where, attempts, exc)
        failed("handler_error", f"{type(exc).__name__}: {exc}")
        longest = self._retry_delays_s[-1] if self._retry_delays_s else 1.0
        delays = itertools.chain(self._retry_delays_s, itertools.repeat(longest))
        for tries, delay in enumerate(delays, start=1):
            try:
                await self._give_up(record, exc, attempts)
                return True
            except Exception:
                if self._partitions.get(tp) is not partition or self._closing:
                    logger.exception(
                        "%s could not be given up and is no longer ours; its next owner gets it",
                        where,
                    )
                    return False
                logger.exception(
                    "%s could not be given up either (try %d); trying again in %.1f s",
                    where,
                    tries,
                    delay,
                )
                await asyncio.sleep(delay)
        return False  # pragma: no cover - the delays never end

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
        await self._commit(set(self._partitions))

    async def _commit(self, partitions: set[TopicPartition]) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        # One partition no longer ours would fail the whole commit (aiokafka
        # checks the assignment first): commit only what is still assigned.
        assigned = consumer.assignment()
        offsets = {
            tp: p.commit_point()
            for tp, p in self._partitions.items()
            if tp in partitions and tp in assigned and p.commit_point() > p.committed
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
            if tp in self._partitions:
                self._partitions[tp].committed = offset

    # aiokafka's ConsumerRebalanceListener, handed to the subscriber.

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self._revocations += 1
        revoked = set(revoked)
        running = [task for task, tp in self._tasks.items() if tp in revoked]
        if running:
            # What finishes now is committed, not redelivered to the next owner.
            await asyncio.wait(running, timeout=self._revoke_grace_s)
        await self._commit(revoked)
        for tp in revoked:
            self._partitions.pop(tp, None)
        if running:
            left = sum(1 for task in running if not task.done())
            logger.info(
                "%s: %d partition(s) revoked; %d record(s) still running will be "
                "redelivered to their next owner",
                self.name,
                len(revoked),
                left,
            )

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        # Fresh marks, created with each partition's first record (on_message).
        for tp in assigned:
            self._partitions.pop(tp, None)

    async def drain(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Stop admitting records, let in-flight ones finish, commit what they handled."""
        self._closing = True
        if self._tasks:
            _, pending = await asyncio.wait(list(self._tasks), timeout=timeout)
            if pending:
                logger.warning(
                    "%s: %d records still in flight at shutdown; they will be redelivered",
                    self.name,
                    len(pending),
                )
                # Not left to finish after the last commit (say, a retry waking up).
                for task in pending:
                    task.cancel()
        if self._committer is not None:
            self._committer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._committer
        await self.commit()
