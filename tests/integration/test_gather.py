"""Gathering replies: duplicates count once, and a deadline ends a request with what it has.

The tests play the `ghost` micromodel: they read its tasks and answer them
(or not) by hand, so they decide exactly which reply arrives when.
"""

from __future__ import annotations

import asyncio

from slmesh.runtime.client import MeshClient
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import encode
from tests.support.kit import (
    DEFAULT_TIMEOUT_MS,
    GHOST,
    REPLIES_GROUP,
    WAIT_S,
    RawProducer,
    TopicTap,
    ghost_answer,
    ghost_request,
    ghost_tasks_of,
    new_request,
    no_second_response,
    reply_as_ghost,
    responses_for,
    send_reply,
    until_consumed,
)


async def test_the_same_reply_delivered_twice_is_counted_once(
    mesh: MeshClient,
    raw: RawProducer,
    settings: MeshSettings,
    ghost_tasks: TopicTap,
    responses: TopicTap,
) -> None:
    request = ghost_request(mesh, 2, timeout_ms=20_000)
    future = await mesh.submit(request)
    first, second = await ghost_tasks_of(ghost_tasks, request.requestid, 2)

    # The reply to the first call, twice, byte for byte: on its partition (a
    # redelivery) and on another one, which the other replica may hold; and
    # once more as a new event with the same answer, as a re-run would send it.
    value = encode(ghost_answer(first, {"n": 1}))
    topic = first.data.reply_topic
    sent = await send_reply(raw, topic, value, key=request.requestid, signer=GHOST)
    again = await send_reply(
        raw,
        topic,
        value,
        key=request.requestid,
        signer=GHOST,
        partition=(sent.partition + 1) % settings.partitions,
    )
    rerun = await reply_as_ghost(raw, first, {"n": 1})
    await until_consumed(settings, REPLIES_GROUP, sent, again, rerun)
    # All copies are handled (a response they caused would be on the topic by
    # now). Counted twice, they would have completed the request without the
    # second call's reply.
    await responses.caught_up()
    assert responses_for(responses, request.requestid) == []
    assert not future.done(), future.result().data

    await reply_as_ghost(raw, second, {"n": 2})
    response = await asyncio.wait_for(future, WAIT_S)
    assert response.data.status == "ok", response.data.answer
    assert [(c.task_id, c.status, c.output) for c in response.data.calls] == [
        (first.data.task_id, "ok", {"n": 1}),
        (second.data.task_id, "ok", {"n": 2}),
    ]
    assert "ghost says {'n': 1}" in response.data.answer
    assert "ghost says {'n': 2}" in response.data.answer
    await no_second_response(responses, request.requestid)


async def test_a_call_not_answered_in_time_makes_a_partial_response_naming_it(
    mesh: MeshClient,
    raw: RawProducer,
    settings: MeshSettings,
    ghost_tasks: TopicTap,
    responses: TopicTap,
) -> None:
    request = new_request(
        mesh,
        "Germany's VAT, and something only the ghost knows",
        calls=[
            {"micromodel": "vat-rates", "arguments": {"country": "DE"}},
            {"micromodel": GHOST, "arguments": {"question": "slow"}},
        ],
        timeout_ms=1500,
    )
    future = await mesh.submit(request)
    [ghost_task] = await ghost_tasks_of(ghost_tasks, request.requestid, 1)
    response = await asyncio.wait_for(future, WAIT_S)

    data = response.data
    assert data.status == "partial", data.answer
    vat, ghost = data.calls
    assert (vat.micromodel, vat.status) == ("vat-rates", "ok")
    assert (ghost.micromodel, ghost.status, ghost.task_id) == (
        GHOST,
        "missing",
        ghost_task.data.task_id,
    )
    assert ghost.output is None
    assert "Partial answer: 1 of 2 calls answered." in data.answer
    assert "Germany (DE): standard 19%" in data.answer
    assert "Missing (no reply before the deadline): ghost(question=slow)" in data.answer
    assert data.error is not None
    assert data.error.code == "deadline_exceeded"
    assert ghost_task.data.task_id in data.error.message
    # The task itself carried the request's deadline.
    assert ghost_task.data.deadline.timestamp() * 1000 <= response.time.timestamp() * 1000

    # A reply after the deadline changes nothing: the request has its one response.
    late = await reply_as_ghost(raw, ghost_task, {"answer": "too late"})
    await until_consumed(settings, REPLIES_GROUP, late)
    await no_second_response(responses, request.requestid)


async def test_a_request_nobody_answers_fails_after_the_default_timeout(
    mesh: MeshClient, ghost_tasks: TopicTap, responses: TopicTap
) -> None:
    # No timeout_ms: the orchestrators' default (SLMESH_DEFAULT_TIMEOUT_MS) applies.
    request = new_request(mesh, "ask the ghost", calls=[{"micromodel": GHOST, "arguments": {}}])
    future = await mesh.submit(request)
    [task] = await ghost_tasks_of(ghost_tasks, request.requestid, 1)
    response = await asyncio.wait_for(future, WAIT_S)

    data = response.data
    assert data.status == "failed", data.answer
    assert [(c.task_id, c.status) for c in data.calls] == [(task.data.task_id, "missing")]
    assert data.error is not None
    assert data.error.code == "deadline_exceeded"
    assert "No answer: none of the 1 calls succeeded." in data.answer
    assert "Missing (no reply before the deadline): ghost()" in data.answer
    budget_ms = (task.data.deadline - request.time).total_seconds() * 1000
    assert DEFAULT_TIMEOUT_MS <= budget_ms < DEFAULT_TIMEOUT_MS + 10_000
    await no_second_response(responses, request.requestid)
