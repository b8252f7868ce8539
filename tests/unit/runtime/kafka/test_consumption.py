"""Which offsets ConcurrentConsumption commits: only handled ones, only while the partition is ours.

A fake consumer records the commits; the records are aiokafka's own.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import IllegalStateError
from aiokafka.structs import ConsumerRecord
from faststream import StreamMessage

from slmesh.runtime.kafka.consumption import ConcurrentConsumption

TOPIC = "slmesh.tasks.test"
P0 = TopicPartition(TOPIC, 0)
P1 = TopicPartition(TOPIC, 1)


class FakeConsumer:
    def __init__(self, assigned: set[TopicPartition]) -> None:
        self.assigned = set(assigned)
        self.commits: list[dict[TopicPartition, int]] = []
        # Where the fetcher is: past every record it handed out.
        self.positions: dict[TopicPartition, int] = {}

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)

    async def position(self, tp: TopicPartition) -> int:
        if tp not in self.assigned:
            raise IllegalStateError(f"{tp} is not assigned")
        return self.positions.get(tp, 0)

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        # aiokafka refuses the whole commit when one partition is not assigned.
        assert set(offsets) <= self.assigned, "committed a partition it does not own"
        self.commits.append(dict(offsets))

    def committed(self, tp: TopicPartition) -> int | None:
        for commit in reversed(self.commits):
            if tp in commit:
                offset: int = commit[tp]
                return offset
        return None


def record(tp: TopicPartition, offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic=tp.topic,
        partition=tp.partition,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=None,
        value=b"{}",
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=2,
        headers=(),
    )


class Handler:
    """Each record's handling ends when the test says so (or raises)."""

    def __init__(self) -> None:
        self.gates: dict[tuple[int, int], asyncio.Future[None]] = {}
        self.handled: list[tuple[int, int]] = []

    def gate(self, tp: TopicPartition, offset: int) -> asyncio.Future[None]:
        key = (tp.partition, offset)
        if key not in self.gates:
            self.gates[key] = asyncio.get_running_loop().create_future()
        return self.gates[key]

    async def __call__(self, rec: ConsumerRecord[bytes, bytes]) -> None:
        tp = TopicPartition(rec.topic, rec.partition)
        await self.gate(tp, rec.offset)
        self.handled.append((rec.partition, rec.offset))

    def finish(self, tp: TopicPartition, offset: int) -> None:
        self.gate(tp, offset).set_result(None)

    def fail(self, tp: TopicPartition, offset: int) -> None:
        self.gate(tp, offset).set_exception(RuntimeError("handler failed"))


async def deliver(
    consumption: ConcurrentConsumption,
    consumer: FakeConsumer,
    tp: TopicPartition,
    *offsets: int,
) -> None:
    for offset in offsets:
        consumer.positions[tp] = offset + 1  # handed out by the fetcher
        message = SimpleNamespace(raw_message=record(tp, offset), consumer=consumer)
        await consumption.on_message(cast(StreamMessage[Any], message))


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0.01)


@pytest.fixture
def handler() -> Handler:
    return Handler()


@pytest.fixture
def consumption(handler: Handler) -> ConcurrentConsumption:
    return ConcurrentConsumption(
        "test", handler, commit_interval_s=0, revoke_grace_s=0.05, retries=2, first_retry_s=0.01
    )


async def test_offsets_are_committed_only_up_to_the_first_unhandled_record(
    consumption: ConcurrentConsumption, handler: Handler
) -> None:
    consumer = FakeConsumer({P0})
    await deliver(consumption, consumer, P0, 10, 11, 12)
    handler.finish(P0, 12)
    handler.finish(P0, 11)
    await settle()
    assert consumer.committed(P0) in (None, 10), "10 is still running: nothing past it"
    handler.finish(P0, 10)
    await settle()
    assert consumer.committed(P0) == 13


async def test_a_record_whose_handler_keeps_raising_holds_the_commit_back(
    consumption: ConcurrentConsumption, handler: Handler
) -> None:
    consumer = FakeConsumer({P0})
    await deliver(consumption, consumer, P0, 5, 6)
    handler.fail(P0, 5)  # on every attempt
    handler.finish(P0, 6)
    await settle()
    # Redelivered after a restart or rebalance, never skipped.
    assert consumer.committed(P0) in (None, 5)
    assert handler.handled == [(0, 6)]


async def test_a_record_still_failing_after_its_retries_is_given_up_and_passed(
    handler: Handler,
) -> None:
    """Dead-lettered and answered by the service; the partition's commits move on."""
    given_up: list[tuple[int, str, int]] = []

    async def give_up(rec: ConsumerRecord[bytes, bytes], exc: Exception, attempts: int) -> None:
        given_up.append((rec.offset, str(exc), attempts))

    consumption = ConcurrentConsumption(
        "test", handler, give_up=give_up, commit_interval_s=0, retries=2, first_retry_s=0.01
    )
    consumer = FakeConsumer({P0})
    await deliver(consumption, consumer, P0, 5, 6)
    handler.fail(P0, 5)  # on every attempt
    handler.finish(P0, 6)
    await settle()
    assert given_up == [(5, "handler failed", 3)]
    assert consumer.committed(P0) == 7


async def test_a_record_whose_giving_up_fails_is_given_up_once_the_broker_is_back(
    handler: Handler,
) -> None:
    """The broker away: the dead letter fails too, and is tried again until it goes out.

    Until then the record holds its partition's commits; after, they move past it.
    """
    tries: list[int] = []
    back = asyncio.Event()

    async def give_up(rec: ConsumerRecord[bytes, bytes], exc: Exception, attempts: int) -> None:
        tries.append(rec.offset)
        if not back.is_set():
            raise ConnectionError("the broker is not answering")

    consumption = ConcurrentConsumption(
        "test", handler, give_up=give_up, commit_interval_s=0, retries=1, first_retry_s=0.01
    )
    consumer = FakeConsumer({P0})
    await deliver(consumption, consumer, P0, 5, 6)
    handler.fail(P0, 5)
    handler.finish(P0, 6)
    await settle()
    assert len(tries) >= 2, "giving up is tried again"
    assert consumer.committed(P0) in (None, 5)
    back.set()
    await settle()
    assert consumer.committed(P0) == 7
    assert set(tries) == {5}


async def test_a_record_that_cannot_be_given_up_is_left_to_its_next_owner(
    handler: Handler,
) -> None:
    """Giving up keeps failing and the partition moves away: the tries end, nothing committed."""
    tries: list[int] = []

    async def give_up(rec: ConsumerRecord[bytes, bytes], exc: Exception, attempts: int) -> None:
        tries.append(rec.offset)
        raise ConnectionError("the broker is not answering")

    consumption = ConcurrentConsumption(
        "test",
        handler,
        give_up=give_up,
        commit_interval_s=0,
        revoke_grace_s=0.05,
        retries=1,
        first_retry_s=0.01,
    )
    consumer = FakeConsumer({P0})
    await deliver(consumption, consumer, P0, 5)
    handler.fail(P0, 5)
    await settle()
    consumer.assigned.clear()
    await consumption.on_partitions_revoked({P0})
    await settle()
    given = len(tries)
    await settle()
    assert len(tries) == given, "no more tries once the partition is someone else's"
    assert consumer.committed(P0) is None


async def test_a_handler_that_raised_is_tried_again_in_place() -> None:
    """Trouble outside the record (Redis or the broker away a moment) passes: no redelivery."""
    attempts: list[int] = []

    async def flaky(rec: ConsumerRecord[bytes, bytes]) -> None:
        attempts.append(rec.offset)
        if len(attempts) < 3:
            raise ConnectionError("Redis is restarting")

    consumption = ConcurrentConsumption(
        "test", flaky, commit_interval_s=0, retries=3, first_retry_s=0.01
    )
    consumer = FakeConsumer({P0})
    await deliver(consumption, consumer, P0, 3)
    await settle()
    assert attempts == [3, 3, 3]
    assert consumer.committed(P0) == 4


async def test_a_revoked_partition_commits_what_finished_then_is_left_alone(
    consumption: ConcurrentConsumption, handler: Handler
) -> None:
    consumer = FakeConsumer({P0, P1})
    await deliver(consumption, consumer, P0, 0, 1)
    await deliver(consumption, consumer, P1, 0)
    handler.finish(P0, 0)
    # Revoked while 1 still runs: 0 is committed while P0 is still ours.
    await consumption.on_partitions_revoked({P0})
    assert consumer.committed(P0) == 1
    consumer.assigned = {P1}
    handler.finish(P0, 1)
    handler.finish(P1, 0)
    await settle()
    # P0's late record does not make the commit of P1 fail, nor is P0 committed.
    assert consumer.committed(P1) == 1
    assert consumer.committed(P0) == 1


async def test_a_partition_assigned_again_starts_from_the_groups_offset(
    consumption: ConcurrentConsumption, handler: Handler
) -> None:
    """Marks of an earlier ownership never move a later commit."""
    consumer = FakeConsumer({P0})
    await deliver(consumption, consumer, P0, 20, 21, 22)
    handler.finish(P0, 21)
    handler.finish(P0, 22)
    await consumption.on_partitions_revoked({P0})
    consumer.assigned = set()
    handler.finish(P0, 20)  # finishes after the revocation: not ours to commit
    await settle()
    # Another replica committed 21 only, then died: P0 comes back from 21.
    consumer.commits.append({P0: 21})
    consumer.assigned = {P0}
    await consumption.on_partitions_assigned({P0})
    del handler.gates[(0, 21)]  # handled once already: a fresh gate for the second time
    await deliver(consumption, consumer, P0, 21)
    handler.finish(P0, 21)
    await settle()
    # Not 23 (this replica's old mark), although 22 is in the fetch buffer unhandled.
    assert consumer.committed(P0) == 22


async def test_drain_waits_for_running_records_and_commits_them(
    consumption: ConcurrentConsumption, handler: Handler
) -> None:
    consumer = FakeConsumer({P0})
    await deliver(consumption, consumer, P0, 0)
    asyncio.get_running_loop().call_later(0.05, handler.finish, P0, 0)
    await consumption.drain(timeout=2)
    assert handler.handled == [(0, 0)]
    assert consumer.committed(P0) == 1


async def test_a_record_that_waited_for_a_slot_across_a_rebalance_is_not_admitted(
    handler: Handler,
) -> None:
    """It is fetched again by the partition's next owner; marks made from it would skip."""
    consumption = ConcurrentConsumption("test", handler, max_in_flight=1, commit_interval_s=0)
    consumer = FakeConsumer({P0})
    await deliver(consumption, consumer, P0, 0)
    # Offset 1 is handed out, then waits: the only slot is taken by 0.
    waiting = asyncio.create_task(deliver(consumption, consumer, P0, 1))
    await settle()
    await consumption.on_partitions_revoked({P0})
    # P0 comes back to this replica, from the committed offset 0.
    consumer.positions[P0] = 0
    await consumption.on_partitions_assigned({P0})
    handler.finish(P0, 0)
    await waiting
    await settle()
    assert handler.handled == [(0, 0)], "the stale record 1 was handled"
    # Nothing was committed past what this ownership has handled.
    assert consumer.committed(P0) in (None, 0)


async def test_a_record_of_a_partition_no_longer_assigned_is_not_admitted(
    consumption: ConcurrentConsumption, handler: Handler
) -> None:
    consumer = FakeConsumer({P0})
    consumer.assigned = set()
    message = SimpleNamespace(raw_message=record(P0, 4), consumer=consumer)
    await consumption.on_message(cast(StreamMessage[Any], message))
    await settle()
    assert handler.gates == {}, "its handler was started"
