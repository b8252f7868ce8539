"""No input wedges the mesh: each case ends in one response or dead letter, then the next is served.

Every case sends its input on the real broker, checks how it ended, and sends
a good request through the same partition: answered, it proves the consumer
that met the input moved on (and, for records given up, that its partition's
commits moved past it).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import orjson
import redis.asyncio as aioredis

from slmesh.cli.devstack import RedisHandle
from slmesh.orchestrator.gather.store import AnswerClaim, GatherStore
from slmesh.runtime.client import MeshClient
from slmesh.runtime.kafka.publishing import DLQ_ERROR
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import MAX_CALLS, RequestCompleted, TaskCompleted, encode
from tests.support.identities import DEV_CALLER
from tests.support.kit import (
    GHOST,
    REPLIES_GROUP,
    REQUESTS_GROUP,
    SUMMARIZER_GROUP,
    WAIT_S,
    RawProducer,
    Record,
    Sent,
    TopicTap,
    assert_dead_letter,
    dead_letter_of,
    ghost_answer,
    ghost_request,
    ghost_tasks_of,
    mesh_id,
    new_request,
    no_second_response,
    reply_as_ghost,
    send_reply,
    send_task,
    serves_next_request,
    settle,
    task_for,
    until_consumed,
)

# Planning and inference on two shared cores: generous, it only bounds a broken mesh.
MODEL_WAIT_S = 90.0
LETTER = (
    "The council met on Tuesday to discuss the new bicycle lanes; residents asked for "
    "more parking and the council promised free parking until the works end."
)


async def ask_raw(
    mesh: MeshClient, raw: RawProducer, text: str, timeout_s: float = WAIT_S, **data: Any
) -> tuple[RequestCompleted, Sent]:
    """A request sent as an enterprise system would; its response, and where it went."""
    request = new_request(mesh, text, **data)
    future = mesh.expect(request.requestid)
    sent = await raw.send(
        mesh.settings.requests_topic,
        encode(request),
        key=request.requestid,
        proven_as=mesh.party.name,
    )
    return await asyncio.wait_for(future, timeout_s), sent


async def test_planned_calls_over_the_cap_fail_naming_the_cap(
    mesh: MeshClient, raw: RawProducer
) -> None:
    # 100 clauses, each a call of its own (the same call twice is made once): 100 tasks.
    asks = " ".join(f"Summarize in {n} words." for n in range(3, 102))
    response, sent = await ask_raw(mesh, raw, f"{asks} Summarize in 102 words: {LETTER}")

    assert response.data.status == "failed"
    assert response.data.error is not None
    assert response.data.error.code == "too_many_calls"
    assert f"cap of {MAX_CALLS} calls" in response.data.error.message
    assert "100 calls" in response.data.error.message
    assert response.data.calls == []
    # Said in brief: not 300 steps.
    assert len(response.data.plan) <= 100
    await serves_next_request(mesh, raw, sent.partition)


async def test_a_clause_too_long_for_the_routing_prompt_is_planned_without_an_exception(
    mesh: MeshClient, raw: RawProducer
) -> None:
    words = "the parcel came two weeks late and the box was torn open so the client wants "
    clause = (words * 200)[:9700]  # 9.7 KB and no sentence punctuation
    response, sent = await ask_raw(mesh, raw, clause, MODEL_WAIT_S, timeout_ms=60_000)

    # Routed by its opening, whichever way: an answer, never a record stuck in retries.
    assert response.data.plan, response.data.answer
    assert "(9700 characters)" in response.data.plan[0]
    await serves_next_request(mesh, raw, sent.partition)


async def test_planning_model_work_has_a_budget_per_request(
    mesh: MeshClient, raw: RawProducer
) -> None:
    # No rule knows these: each clause would cost the model a routing.
    text = " ".join(f"Ponder riddle number {i} for a while." for i in range(60))
    response, sent = await ask_raw(mesh, raw, text, MODEL_WAIT_S, timeout_ms=60_000)

    budget_steps = [s for s in response.data.plan if "planning budget" in s]
    assert budget_steps, response.model_dump_json(exclude_none=True)[:3000]
    assert response.data.planning is not None
    # Stopped at the budget (5 s of model time), give or take the call that crossed it.
    assert response.data.planning.latency_ms < 15_000
    await serves_next_request(mesh, raw, sent.partition)


async def test_planning_runs_inside_the_request_deadline(
    mesh: MeshClient, raw: RawProducer
) -> None:
    # Routing this takes the model longer than the request's whole time budget.
    text = "Ponder this riddle for a while and another one after it and a third one too"
    response, sent = await ask_raw(mesh, raw, text, MODEL_WAIT_S, timeout_ms=100)

    assert response.data.status == "failed"
    assert response.data.error is not None
    assert response.data.error.code == "deadline_exceeded"
    assert "planning did not finish within the request's 100 ms" in response.data.error.message
    await serves_next_request(mesh, raw, sent.partition)


async def test_a_request_whose_handling_keeps_failing_is_given_up_and_passed(
    mesh: MeshClient,
    raw: RawProducer,
    settings: MeshSettings,
    redis_server: RedisHandle,
    deadletters: TopicTap,
) -> None:
    """Its gather state is unreadable (here: a key of the wrong type): every attempt raises."""
    request = new_request(mesh, "VAT rates in Austria")
    rid = request.requestid
    client = aioredis.from_url(redis_server.url)
    try:
        await client.set(f"slmesh:req:{{{mesh_id(rid)}}}", b"not a hash", px=120_000)
        future = mesh.expect(rid)
        value = encode(request)
        sent = await raw.send(settings.requests_topic, value, key=rid, proven_as=DEV_CALLER)

        response = await asyncio.wait_for(future, MODEL_WAIT_S)
        assert response.data.status == "failed"
        assert response.data.error is not None
        assert response.data.error.code == "handler_error"
        assert "WRONGTYPE" in response.data.error.message
        dead = await dead_letter_of(deadletters, value)
        # The session's stack retries a record 3 times in place (SLMESH_RECORD_RETRIES).
        assert_dead_letter(dead, sent, code="handler_error", service="orchestrator", attempts=4)
        await until_consumed(settings, REQUESTS_GROUP, sent)
        await serves_next_request(mesh, raw, sent.partition)
    finally:
        await client.delete(f"slmesh:req:{{{mesh_id(rid)}}}")
        await client.aclose()


async def test_a_reply_that_cannot_be_gathered_is_given_up_and_its_request_answered(
    mesh: MeshClient,
    raw: RawProducer,
    settings: MeshSettings,
    redis_server: RedisHandle,
    ghost_tasks: TopicTap,
    deadletters: TopicTap,
    responses: TopicTap,
) -> None:
    """The request's calls by task id are made unreadable (a key of the wrong type) after
    its tasks went out: recording a reply raises every time. Given up, the reply is
    dead-lettered, its request answered at once (not at its deadline of a minute)
    with the other call's result, and the replies' commits move past it."""
    request = ghost_request(mesh, 2, timeout_ms=60_000)
    rid = request.requestid
    future = await mesh.submit(request)
    first, second = await ghost_tasks_of(ghost_tasks, rid, 2)
    await reply_as_ghost(raw, second, {"n": 2})
    await until_answered_call(redis_server, rid, second.data.task_id)
    client = aioredis.from_url(redis_server.url)
    try:
        await client.set(f"slmesh:req:{{{mesh_id(rid)}}}:tasks", b"not a set", px=120_000)
        value = encode(ghost_answer(first, {"n": 1}))
        sent = await send_reply(raw, first.data.reply_topic, value, key=rid, signer=GHOST)

        response = await asyncio.wait_for(future, WAIT_S)
        assert response.data.status == "partial"
        assert [c.status for c in response.data.calls] == ["missing", "ok"]
        assert response.data.error is not None
        assert response.data.error.code == "handler_error"
        assert "a reply could not be gathered" in response.data.error.message
        assert "WRONGTYPE" in response.data.error.message
        dead = await dead_letter_of(deadletters, value)
        # The session's stack retries a record 3 times in place (SLMESH_RECORD_RETRIES).
        assert_dead_letter(dead, sent, code="handler_error", service="orchestrator", attempts=4)
        await until_consumed(settings, REPLIES_GROUP, sent)
        await no_second_response(responses, rid)
        await serves_next_request(mesh, raw)
    finally:
        await client.delete(f"slmesh:req:{{{mesh_id(rid)}}}:tasks")
        await client.aclose()


async def until_answered_call(redis_server: RedisHandle, rid: str, task_id: str) -> None:
    """Wait until the reply to `task_id` is recorded in the gather state of the dev caller's
    request `rid`."""
    client = aioredis.from_url(redis_server.url)
    try:
        async with asyncio.timeout(WAIT_S):
            # Redis says nothing when a field is set: polled.
            key = f"slmesh:req:{{{mesh_id(rid)}}}:results"
            while not await client.hexists(key, task_id):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
    finally:
        await client.aclose()


POISON_TASKS = 8  # a model micromodel's in-flight tasks (SLMESH_MODEL__QUEUE)


async def test_tasks_whose_reply_topic_does_not_exist_fail_once_without_inference(
    raw: RawProducer,
    settings: MeshSettings,
    redis_server: RedisHandle,
    deadletters: TopicTap,
    mesh_replies: TopicTap,
) -> None:
    """As many tasks naming a reply topic that does not exist as the summarizer admits at
    once (valid and invalid ones, proven by the orchestrator's key: a compromised or buggy
    orchestrator): each dead-lettered once, none run, none holding a slot or its
    partition's commits; the next task is answered by the same replica."""
    text = "Heavy snow closed the mountain pass on Friday night; the road reopens on Sunday."
    nowhere = f"it.nowhere.{uuid.uuid4().hex[:8]}"
    poison = [task_for("summarizer", {"text": text}, nowhere) for _ in range(POISON_TASKS)]
    values = [encode(task) for task in poison[: POISON_TASKS // 2]]
    for task in poison[POISON_TASKS // 2 :]:
        invalid = task.model_dump(mode="json", exclude_none=True)
        invalid["data"]["surprise"] = True
        values.append(orjson.dumps(invalid))
    sent = [
        await send_task(raw, settings, "summarizer", value, key=task.data.task_id, partition=0)
        for task, value in zip(poison, values, strict=True)
    ]

    # The next task on that partition is answered, by the same replica.
    good = task_for("summarizer", {"text": text}, mesh_replies.topic)
    after = await send_task(
        raw, settings, "summarizer", encode(good), key=good.data.task_id, partition=0
    )
    [reply] = await mesh_replies.wait_for(
        lambda r: r.key_text == good.requestid, timeout=MODEL_WAIT_S
    )
    answer = reply.event(TaskCompleted)
    assert answer.data.task_id == good.data.task_id
    assert answer.data.replica == "summarizer-1"
    await until_consumed(settings, SUMMARIZER_GROUP, *sent, after)

    await settle(deadletters)
    codes = ["unknown_reply_topic"] * (POISON_TASKS // 2) + ["invalid_event"] * (POISON_TASKS // 2)
    for value, where, code in zip(values, sent, codes, strict=True):
        # Once each: never again on a retry.
        [dead] = dead_letters_of(deadletters, value)
        assert_dead_letter(dead, where, code=code, service="summarizer")
    assert nowhere in dead_letters_of(deadletters, values[0])[0].header(DLQ_ERROR)
    # None was answered anywhere, and no inference ran: a reply would have been kept.
    assert not mesh_replies.matching(lambda r: r.key_text in {t.requestid for t in poison})
    client = aioredis.from_url(redis_server.url)
    try:
        for task in poison:
            assert await client.keys(f"slmesh:reply:{task.data.task_id}:*") == []
    finally:
        await client.aclose()


def dead_letters_of(deadletters: TopicTap, value: bytes) -> list[Record]:
    return deadletters.matching(lambda r: r.value == value)


async def test_a_failed_response_claimed_by_a_replica_that_died_is_sent_by_another(
    mesh: MeshClient, raw: RawProducer, redis_server: RedisHandle, responses: TopicTap
) -> None:
    """The claim outlives its claimer only for its lease: then the response is sent, once."""
    request = new_request(mesh, "What is VAT?")  # names no country: a failed response
    rid = request.requestid
    # A replica claimed this request's answer and died before publishing it.
    dead_replica = GatherStore.from_url(redis_server.url, lease_ms=1500)
    try:
        assert await dead_replica.claim_answer(mesh_id(rid)) is AnswerClaim.CLAIMED
    finally:
        await dead_replica.close()
    future = mesh.expect(rid)
    sent = await raw.send(
        mesh.settings.requests_topic, encode(request), key=rid, proven_as=DEV_CALLER
    )

    response = await asyncio.wait_for(future, WAIT_S)
    assert response.data.status == "failed"
    assert response.data.error is not None
    assert response.data.error.code == "no_plan"
    await no_second_response(responses, rid)
    await serves_next_request(mesh, raw, sent.partition)
