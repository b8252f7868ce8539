"""The Redis gather store: each transition atomic, each reply counted once, one answer a request.

Runs against a real Redis the suite starts (tests/conftest.py), because the
guarantees live in Lua scripts that only Redis can execute.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from pydantic import JsonValue

from slmesh.cli.devstack import RedisHandle
from slmesh.orchestrator.gather.state import GatherCall, GatherSnapshot, GatherState
from slmesh.orchestrator.gather.store import (
    AnswerClaim,
    Claim,
    GatherStore,
    Opening,
    ReplyOutcome,
)
from slmesh.schemas import TaskCompleted, encode


@pytest.fixture
async def store(redis_server: RedisHandle) -> AsyncIterator[GatherStore]:
    # A namespace per test keeps the shared deadline index free of other tests' requests.
    store = GatherStore.from_url(redis_server.url, namespace=f"t{uuid.uuid4().hex[:8]}")
    yield store
    await store.close()


def now_ms() -> int:
    return int(time.time() * 1000)


def state(**fields: Any) -> GatherState:
    return GatherState(
        event_id="e",
        reply_topic="r",
        planner="test",
        deadline_ms=now_ms() + 60_000,
        received_ms=float(now_ms()),
        **fields,
    )


def call(task_id: str) -> GatherCall:
    return GatherCall(task_id=task_id, micromodel="m", arguments={}, dispatched_ms=0.0)


def calls(rid: str, n: int) -> list[GatherCall]:
    return [call(f"{rid}:{i}") for i in range(1, n + 1)]


def reply(rid: str, task_id: str, output: dict[str, JsonValue]) -> bytes:
    """A micromodel's reply, as the orchestrator stores it: the event's bytes."""
    event = TaskCompleted.create(
        data={
            "task_id": task_id,
            "micromodel": "m",
            "output": output,
            "model": "deterministic",
            "latency_ms": 0.0,
            "replica": "test",
        },
        source="/test",
        request_id=rid,
    )
    return encode(event)


async def record_reply(
    store: GatherStore,
    rid: str,
    task_id: str,
    output: dict[str, JsonValue],
    micromodel: str = "m",
) -> tuple[ReplyOutcome, GatherSnapshot | None]:
    return await store.record_reply(
        rid,
        task_id,
        micromodel=micromodel,
        event=reply(rid, task_id, output),
        received_ms=float(now_ms()),
    )


async def record(
    store: GatherStore,
    rid: str,
    task_id: str,
    output: dict[str, JsonValue],
    micromodel: str = "m",
) -> ReplyOutcome:
    outcome, snapshot = await record_reply(store, rid, task_id, output, micromodel)
    # Only the completing reply carries the snapshot to answer from.
    assert (snapshot is not None) == (outcome is ReplyOutcome.COMPLETE)
    return outcome


def outputs(snapshot: GatherSnapshot) -> dict[str, Any]:
    """Each stored reply's output, by task id."""
    found = {}
    for task_id, stored in snapshot.results.items():
        assert isinstance(stored.event, TaskCompleted)
        found[task_id] = stored.event.data.output
    return found


# Far above what any test opens for one caller, but for the cap's own tests.
NO_CAP = 1000


async def open_request(store: GatherStore, rid: str, n: int, in_ms: int = 60_000) -> None:
    opening = await store.open(
        rid, request=state(), calls=calls(rid, n), deadline_ms=now_ms() + in_ms, max_open=NO_CAP
    )
    assert opening.opened


async def test_request_completes_when_the_last_expected_reply_arrives(store: GatherStore) -> None:
    await open_request(store, "r1", 3)
    assert await record(store, "r1", "r1:1", {"v": 1}) is ReplyOutcome.WAITING
    assert await record(store, "r1", "r1:3", {"v": 3}) is ReplyOutcome.WAITING
    outcome, completed = await record_reply(store, "r1", "r1:2", {"v": 2})
    assert outcome is ReplyOutcome.COMPLETE
    snapshot = await store.snapshot("r1")
    assert completed == snapshot
    assert snapshot is not None
    assert outputs(snapshot) == {"r1:1": {"v": 1}, "r1:2": {"v": 2}, "r1:3": {"v": 3}}
    assert [c.task_id for c in snapshot.calls] == ["r1:1", "r1:2", "r1:3"]


async def test_duplicate_reply_is_counted_once(store: GatherStore) -> None:
    await open_request(store, "r2", 2)
    assert await record(store, "r2", "r2:1", {"v": "first"}) is ReplyOutcome.WAITING
    assert await record(store, "r2", "r2:1", {"v": "again"}) is ReplyOutcome.DUPLICATE
    snapshot = await store.snapshot("r2")
    assert snapshot is not None
    assert outputs(snapshot)["r2:1"] == {"v": "first"}
    assert await record(store, "r2", "r2:2", {"v": 2}) is ReplyOutcome.COMPLETE


async def test_concurrent_duplicates_complete_the_request_exactly_once(store: GatherStore) -> None:
    await open_request(store, "r3", 2)
    await record(store, "r3", "r3:1", {})
    outcomes = await asyncio.gather(*(record(store, "r3", "r3:2", {}) for _ in range(20)))
    assert outcomes.count(ReplyOutcome.COMPLETE) == 1
    # The others were not counted: refused as duplicates, or as arriving after completion.
    assert set(outcomes) - {ReplyOutcome.COMPLETE} <= {
        ReplyOutcome.DUPLICATE,
        ReplyOutcome.NOT_OPEN,
    }


async def test_reply_for_a_task_the_request_never_made_is_refused(store: GatherStore) -> None:
    await open_request(store, "r4", 1)
    assert await record(store, "r4", "r4:9", {}) is ReplyOutcome.UNKNOWN_TASK
    # No state at all (Redis lost it, or it expired): the caller fails the request once.
    assert await record(store, "nope", "nope:1", {}) is ReplyOutcome.STATE_LOST
    assert await store.claim_answer("nope") is AnswerClaim.CLAIMED
    assert await record(store, "nope", "nope:2", {}) is ReplyOutcome.NOT_OPEN


async def test_a_reply_naming_another_micromodel_than_its_call_is_not_counted(
    store: GatherStore,
) -> None:
    await open_request(store, "w1", 2)
    assert await record(store, "w1", "w1:1", {"v": "forged"}, "other") is (
        ReplyOutcome.WRONG_MICROMODEL
    )
    snapshot = await store.snapshot("w1")
    assert snapshot is not None
    assert snapshot.results == {}
    # The call still waits for its own micromodel's reply, which counts.
    assert await record(store, "w1", "w1:1", {"v": 1}) is ReplyOutcome.WAITING
    assert await record(store, "w1", "w1:2", {"v": 2}) is ReplyOutcome.COMPLETE
    # Told for as long as the request is known, answered or not.
    assert await record(store, "w1", "w1:2", {"v": 2}, "other") is ReplyOutcome.WRONG_MICROMODEL


async def test_a_state_written_before_calls_kept_their_micromodel_still_gathers(
    store: GatherStore,
) -> None:
    """A rolling upgrade: a request opened by an earlier version keeps a set of task ids;
    its replies are counted by task id alone, and its next round's calls join the set."""
    await open_request(store, "u1", 1)
    _, _, tasks = store._keys("u1")
    ttl = await store._redis.pttl(tasks)
    await store._redis.delete(tasks)
    await store._redis.sadd(tasks, "u1:1")
    await store._redis.pexpire(tasks, ttl)
    outcome, snapshot = await record_reply(store, "u1", "u1:1", {"v": 1}, "any")
    assert outcome is ReplyOutcome.COMPLETE
    assert snapshot is not None
    second = [call("u1:2")]
    assert await store.extend(
        "u1",
        request=state(),
        calls=snapshot.calls + second,
        new_calls=second,
        deadline_ms=now_ms() + 60_000,
    )
    assert await store._redis.smembers(tasks) == {b"u1:1", b"u1:2"}
    assert await record(store, "u1", "u1:9", {}) is ReplyOutcome.UNKNOWN_TASK
    assert await record(store, "u1", "u1:2", {"v": 2}) is ReplyOutcome.COMPLETE


async def test_reply_after_completion_is_ignored(store: GatherStore) -> None:
    await open_request(store, "r5", 1)
    assert await record(store, "r5", "r5:1", {}) is ReplyOutcome.COMPLETE
    assert await record(store, "r5", "r5:1", {}) is ReplyOutcome.NOT_OPEN


async def test_a_redelivered_request_is_not_opened_twice(store: GatherStore) -> None:
    await open_request(store, "r6", 1)
    again = await store.open(
        "r6", request=state(), calls=calls("r6", 1), deadline_ms=now_ms(), max_open=NO_CAP
    )
    assert again.seen_before


async def test_expired_request_is_claimed_by_exactly_one_sweeper(
    store: GatherStore, redis_server: RedisHandle
) -> None:
    await open_request(store, "r7", 2, in_ms=-1)
    await record(store, "r7", "r7:1", {"v": 1})
    # A second replica's store on the same Redis races for the same deadline.
    other = GatherStore.from_url(redis_server.url, namespace=store._ns)
    try:
        claims = await asyncio.gather(store.claim_expired(), other.claim_expired())
    finally:
        await other.close()
    assert sorted(claims, key=len) == [[], [Claim("r7")]]
    # Once claimed, the missing reply can no longer complete it a second time.
    assert await record(store, "r7", "r7:2", {}) is ReplyOutcome.NOT_OPEN
    snapshot = await store.snapshot("r7")
    assert snapshot is not None
    assert set(snapshot.results) == {"r7:1"}


async def test_completed_request_is_not_claimed_by_the_sweeper(store: GatherStore) -> None:
    await open_request(store, "r8", 1, in_ms=50)
    assert await record(store, "r8", "r8:1", {}) is ReplyOutcome.COMPLETE
    await asyncio.sleep(0.1)
    assert await store.claim_expired() == []


async def test_request_answered_without_gathering_is_answered_once(store: GatherStore) -> None:
    assert await store.claim_answer("r9") is AnswerClaim.CLAIMED
    # Published, not yet confirmed: another delivery waits for the lease.
    assert await store.claim_answer("r9") is AnswerClaim.ANSWERING
    assert await store.answered("r9") is True
    assert await store.claim_answer("r9") is AnswerClaim.ANSWERED
    # Nor can it be opened for gathering afterwards.
    again = await store.open(
        "r9", request=state(), calls=calls("r9", 1), deadline_ms=now_ms(), max_open=NO_CAP
    )
    assert again.seen_before


async def test_an_answer_claimed_by_a_replica_that_died_is_claimed_again(
    redis_server: RedisHandle,
) -> None:
    """A crash between claiming and publishing a failed response never leaves it unanswered."""
    short = GatherStore.from_url(
        redis_server.url, namespace=f"t{uuid.uuid4().hex[:8]}", lease_ms=1000
    )
    try:
        assert await short.claim_answer("r11") is AnswerClaim.CLAIMED
        # ... the claimer dies here, before publishing ...
        assert await short.claim_answer("r11") is AnswerClaim.ANSWERING
        await asyncio.sleep(1.1)
        assert await short.claim_answer("r11") is AnswerClaim.CLAIMED
        assert await short.answered("r11") is True
    finally:
        await short.close()


async def test_gather_state_expires(store: GatherStore, redis_server: RedisHandle) -> None:
    await open_request(store, "r10", 2)
    await record(store, "r10", "r10:1", {})
    client = store._redis
    state, results, tasks = store._keys("r10")
    for key in (state, results, tasks):
        assert await client.pttl(key) > 0, key


async def test_a_completed_round_can_be_extended_once_by_its_completer(store: GatherStore) -> None:
    await open_request(store, "m1", 1)
    outcome, snapshot = await record_reply(store, "m1", "m1:1", {"v": 1})
    assert outcome is ReplyOutcome.COMPLETE
    assert snapshot is not None
    second = [call("m1:2")]
    next_round = state(round=2)
    everything = snapshot.calls + second
    deadline = now_ms() + 60_000
    assert await store.extend(
        "m1", request=next_round, calls=everything, new_calls=second, deadline_ms=deadline
    )
    # Open again: a second extension (or a stale completer) is refused.
    assert not await store.extend(
        "m1", request=next_round, calls=everything, new_calls=second, deadline_ms=deadline
    )
    # The first round's reply again is a duplicate; the new call's reply completes it.
    assert await record(store, "m1", "m1:1", {"v": 1}) is ReplyOutcome.DUPLICATE
    outcome, snapshot = await record_reply(store, "m1", "m1:2", {"v": 2})
    assert outcome is ReplyOutcome.COMPLETE
    assert snapshot is not None
    assert snapshot.request == next_round
    assert outputs(snapshot) == {"m1:1": {"v": 1}, "m1:2": {"v": 2}}


async def test_an_extended_round_is_swept_at_the_original_deadline(store: GatherStore) -> None:
    await open_request(store, "m2", 1, in_ms=60_000)
    _, snapshot = await record_reply(store, "m2", "m2:1", {"v": 1})
    assert snapshot is not None
    second = [call("m2:2")]
    deadline = now_ms() + 50
    assert await store.extend(
        "m2", request=state(), calls=snapshot.calls + second, new_calls=second, deadline_ms=deadline
    )
    await asyncio.sleep(0.1)
    assert await store.claim_expired() == [Claim("m2")]


async def test_a_completer_that_dies_before_answering_is_taken_over_after_its_lease(
    redis_server: RedisHandle,
) -> None:
    store = GatherStore.from_url(
        redis_server.url, namespace=f"t{uuid.uuid4().hex[:8]}", lease_ms=1000
    )
    try:
        await open_request(store, "l1", 1)
        completed_ms = now_ms()
        outcome, _ = await record_reply(store, "l1", "l1:1", {"v": 1})
        assert outcome is ReplyOutcome.COMPLETE
        assert await store.state("l1") == "completing"
        # While the completer's lease runs, nobody else may answer.
        assert await store.claim_expired() == []
        await asyncio.sleep(1.1)
        # It never said it answered (it died): a sweeper takes the request over, once.
        [claim] = await store.claim_expired()
        assert claim.request_id == "l1"
        # From when the dead completer held it: where its answer would be, if sent.
        assert claim.taken_over_since_ms is not None
        assert abs(claim.taken_over_since_ms - completed_ms) < 500
        assert await store.claim_expired() == []
        assert await store.mark_done("l1")
        assert await store.state("l1") == "done"
        assert await store.claim_expired(now_ms=now_ms() + 10_000) == []
    finally:
        await store.close()


async def test_an_answered_request_is_never_taken_over(store: GatherStore) -> None:
    await open_request(store, "l2", 1)
    await record_reply(store, "l2", "l2:1", {"v": 1})
    assert await store.mark_done("l2")
    # A stale completer learns it had lost the request.
    assert not await store.mark_done("l2")
    assert await store.claim_expired(now_ms=now_ms() + 60_000) == []


async def test_a_burst_wider_than_the_pool_waits_for_connections(store: GatherStore) -> None:
    """A replica catching up on a backlog: hundreds of commands at once, none refused."""
    states = await asyncio.gather(*(store.state(f"burst-{i}") for i in range(300)))
    assert states == [None] * 300


async def test_a_fan_out_recorded_together_counts_each_reply_once(store: GatherStore) -> None:
    """Replies arriving in one batch go to Redis as one pipeline: each is counted once,
    duplicates among them are refused, and exactly one of them completes the request."""
    await open_request(store, "fan", 27)
    replies = [f"fan:{i}" for i in range(1, 28)]
    outcomes = await asyncio.gather(
        *(record(store, "fan", task, {"i": task}) for task in [*replies, replies[0], replies[5]])
    )
    assert outcomes.count(ReplyOutcome.COMPLETE) == 1
    assert outcomes.count(ReplyOutcome.DUPLICATE) + outcomes.count(ReplyOutcome.NOT_OPEN) == 2
    snapshot = await store.snapshot("fan")
    assert snapshot is not None
    assert outputs(snapshot) == {task: {"i": task} for task in replies}


async def test_replies_recorded_together_after_redis_forgot_its_scripts(
    store: GatherStore, redis_server: RedisHandle
) -> None:
    """A Redis restarted without its scripts: a batch of replies still lands, each once."""
    await open_request(store, "noscript", 3)
    admin = aioredis.Redis.from_url(redis_server.url)
    try:
        await admin.script_flush()
    finally:
        await admin.aclose()
    outcomes = await asyncio.gather(
        *(record(store, "noscript", f"noscript:{i}", {"i": i}) for i in (1, 2, 3))
    )
    assert sorted(outcomes) == sorted([ReplyOutcome.WAITING] * 2 + [ReplyOutcome.COMPLETE])


async def open_as(store: GatherStore, rid: str, *, cap: int, in_ms: int = 60_000) -> Opening:
    return await store.open(
        rid, request=state(), calls=calls(rid, 1), deadline_ms=now_ms() + in_ms, max_open=cap
    )


async def test_a_callers_open_requests_are_capped_and_each_counted_once(
    store: GatherStore,
) -> None:
    assert await open_as(store, "dev:a", cap=2) == Opening(opened=True, open_requests=1)
    # A redelivery is not counted again.
    assert (await open_as(store, "dev:a", cap=2)).seen_before
    assert await open_as(store, "dev:b", cap=2) == Opening(opened=True, open_requests=2)
    # Another caller counts apart.
    assert (await open_as(store, "other:a", cap=2)).opened
    assert await store.open_requests("dev") == 2
    refused = await open_as(store, "dev:c", cap=2)
    assert refused == Opening(opened=False, refused=True, open_requests=2)
    # Its refusal is claimed: published, then marked answered, once.
    assert await store.claim_answer("dev:c") is AnswerClaim.ANSWERING
    assert await store.answered("dev:c")
    assert (await open_as(store, "dev:c", cap=2)).seen_before
    # An answered request frees its slot.
    assert await record(store, "dev:a", "dev:a:1", {}) is ReplyOutcome.COMPLETE
    assert await store.mark_done("dev:a")
    assert await store.open_requests("dev") == 1
    assert (await open_as(store, "dev:d", cap=2)).opened


async def test_a_request_past_its_deadline_frees_its_slot(store: GatherStore) -> None:
    assert (await open_as(store, "dev:late", cap=1, in_ms=30)).opened
    assert (await open_as(store, "dev:next", cap=1)).refused
    await asyncio.sleep(0.06)
    assert await store.open_requests("dev") == 0
    assert (await open_as(store, "dev:after", cap=1)).opened
