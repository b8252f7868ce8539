"""Threats on the orchestrator↔micromodel edge, on real parts: each forged or replayed record
is dead-lettered with its reason, nothing of it reaches an answer, and the mesh serves on.

- A forged reply for a pending call (the slow micromodel keeps it pending):
  unsigned, proven by a caller's key, proven by another micromodel's key; and a
  reply of the right micromodel's key whose output its schema refuses.
- A forged task on a micromodel's topic: unsigned, or proven by a caller.
- A stored reply asked for again by a task record reusing its task id.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from slmesh.cli.devstack import RedisHandle, ServiceProcess
from slmesh.runtime.client import MeshClient
from slmesh.runtime.failures import task_failed
from slmesh.runtime.kafka import ensure_topics
from slmesh.runtime.kafka.publishing import DLQ_ERROR
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import ContractError, RequestCompleted, TaskCompleted, TaskRequested, encode
from tests.support.kit import (
    VAT_RATES_GROUP,
    WAIT_S,
    RawProducer,
    Record,
    TopicTap,
    assert_dead_letter,
    dead_letter_of,
    mesh_id,
    new_request,
    send_reply,
    send_task,
    serves_next_request,
    settle,
    task_for,
    until_consumed,
)
from tests.support.proofs import proven

# Long enough for every forged record to be refused while the call is pending.
NAP_S = 5.0
# Inference on two shared cores: generous, it only bounds a broken mesh.
MODEL_WAIT_S = 90.0
FORGED_OUTPUT = {"seconds": 666.0}


async def until_open(redis_server: RedisHandle, rid: str) -> None:
    """Wait until the request's gather state is written: its calls are pending."""
    client = aioredis.from_url(redis_server.url)
    try:
        async with asyncio.timeout(WAIT_S):
            # Redis says nothing when a key is written: polled.
            while await client.hget(f"slmesh:req:{{{rid}}}", "state") != b"open":  # noqa: ASYNC110
                await asyncio.sleep(0.02)
    finally:
        await client.aclose()


async def pending_nap(
    mesh: MeshClient, redis_server: RedisHandle
) -> tuple[str, asyncio.Future[RequestCompleted]]:
    """A request whose one call, to slow, stays pending for NAP_S; its call's task id (the
    mesh's, `<caller>:<request id>:1`) and its answer."""
    request = new_request(
        mesh,
        "a nap that forgers answer first",
        calls=[{"micromodel": "slow", "arguments": {"seconds": NAP_S}}],
        timeout_ms=60_000,
    )
    future = await mesh.submit(request)
    # Inside the mesh the request is the caller's: its gather state, tasks and replies
    # carry the scoped id.
    scoped = mesh_id(request.requestid)
    await until_open(redis_server, scoped)
    return f"{scoped}:1", future


def reply_to(task_id: str, micromodel: str, output: dict[str, Any], summary: str) -> bytes:
    rid = task_id.rsplit(":", 1)[0]
    return encode(
        TaskCompleted.create(
            data={
                "task_id": task_id,
                "micromodel": micromodel,
                "output": output,
                "summary": summary,
                "model": "deterministic",
                "latency_ms": 1.0,
                "replica": "forger-1",
            },
            source="/slmesh/forger",
            request_id=rid,
        )
    )


def failure_of(task_id: str, micromodel: str, message: str) -> bytes:
    return encode(
        task_failed(
            task_id=task_id,
            micromodel=micromodel,
            code="handler_error",
            message=message,
            source="/slmesh/forger",
            request_id=task_id.rsplit(":", 1)[0],
            replica="forger-1",
        )
    )


def answered_by_the_real_reply_only(response: RequestCompleted) -> None:
    assert response.data.status == "ok", response.data.answer
    [call] = response.data.calls
    assert call.output == {"seconds": NAP_S}
    assert call.micromodel == "slow"
    assert call.model == "deterministic"
    # Nothing of a forgery anywhere in the response (its summary says FORGED; its
    # output's number alone would be no sure sign: ids and times are digits too).
    quoted = response.model_dump_json()
    assert "FORGED" not in quoted
    assert "forever" not in quoted


@pytest.mark.parametrize(
    ("forger", "signer", "named", "code", "reason"),
    [
        ("unsigned", None, "slow", "unauthenticated_reply", "carries no proof of its writer"),
        ("a caller", "dev", "slow", "unauthenticated_reply", "'dev' is a caller"),
        (
            "another micromodel claiming the call's",
            "vat-rates",
            "slow",
            "wrong_micromodel",
            "names micromodel 'slow', which its writer 'vat-rates' does not serve",
        ),
        (
            # A failure, which fails the call if believed (and has no output to check).
            "another micromodel naming itself",
            "vat-rates",
            "vat-rates",
            "wrong_micromodel",
            "went to another",
        ),
    ],
)
async def test_a_forged_reply_for_a_pending_call_is_refused_and_the_real_one_quoted(
    forger: str,
    signer: str | None,
    named: str,
    code: str,
    reason: str,
    mesh: MeshClient,
    raw: RawProducer,
    settings: MeshSettings,
    redis_server: RedisHandle,
    slow: ServiceProcess,
    deadletters: TopicTap,
) -> None:
    task_id, future = await pending_nap(mesh, redis_server)
    rid = task_id.rsplit(":", 1)[0]
    value = (
        failure_of(task_id, named, f"FORGED by {forger}")
        if named != "slow"
        else reply_to(task_id, named, FORGED_OUTPUT, f"FORGED by {forger}")
    )
    if signer is None:
        sent = await raw.send(settings.replies_topic, value, key=rid)
    else:
        sent = await send_reply(raw, settings.replies_topic, value, key=rid, signer=signer)

    dead = await dead_letter_of(deadletters, value)
    assert_dead_letter(dead, sent, code=code, service="orchestrator")
    assert reason in dead.header(DLQ_ERROR)
    # Refused before the real reply came: the call went on waiting for it.
    assert not future.done()
    answered_by_the_real_reply_only(await asyncio.wait_for(future, WAIT_S + NAP_S))
    await serves_next_request(mesh, raw, sent.partition)


async def test_an_output_its_micromodel_never_announced_is_refused_and_the_call_waits(
    mesh: MeshClient,
    raw: RawProducer,
    settings: MeshSettings,
    redis_server: RedisHandle,
    slow: ServiceProcess,
    deadletters: TopicTap,
) -> None:
    """Proven by slow's own key (it leaked, or slow has a bug): the output still has to
    fit the schema slow announced (`seconds`, a number)."""
    task_id, future = await pending_nap(mesh, redis_server)
    rid = task_id.rsplit(":", 1)[0]
    value = reply_to(task_id, "slow", {"seconds": "forever"}, "FORGED output")
    sent = await send_reply(raw, settings.replies_topic, value, key=rid, signer="slow")

    dead = await dead_letter_of(deadletters, value)
    assert_dead_letter(dead, sent, code="output_schema_violation", service="orchestrator")
    assert "seconds: 'forever' is not of type 'number'" in dead.header(DLQ_ERROR)
    assert not future.done()
    answered_by_the_real_reply_only(await asyncio.wait_for(future, WAIT_S + NAP_S))
    await serves_next_request(mesh, raw, sent.partition)


@pytest.mark.parametrize(
    ("forger", "signer", "reason"),
    [
        ("unsigned", None, "carries no proof of its writer"),
        ("a caller", "dev", "'dev' is a caller; only a orchestrator writes here"),
    ],
)
async def test_a_forged_task_is_refused_and_answered_nowhere(
    forger: str,
    signer: str | None,
    reason: str,
    mesh: MeshClient,
    raw: RawProducer,
    settings: MeshSettings,
    deadletters: TopicTap,
    mesh_replies: TopicTap,
) -> None:
    task = task_for("vat-rates", {"country": "DE"}, settings.replies_topic)
    value = encode(task)
    topic = settings.task_topic("vat-rates")
    if signer is None:
        sent = await raw.send(topic, value, key=task.data.task_id)
    else:
        sent = await send_task(
            raw, settings, "vat-rates", value, key=task.data.task_id, signer=signer
        )

    dead = await dead_letter_of(deadletters, value)
    assert_dead_letter(dead, sent, code="unauthenticated_task", service="vat-rates")
    assert reason in dead.header(DLQ_ERROR)
    await until_consumed(settings, VAT_RATES_GROUP, sent)
    await settle(mesh_replies)
    assert mesh_replies.matching(lambda r: r.key_text == task.requestid) == []
    await serves_next_request(mesh, raw)


# --- stored replies ----------------------------------------------------------------------


TEXT = "Heavy snow closed the mountain pass on Friday night; the road reopens on Sunday noon."


@pytest.fixture
async def summarizer_tasks(settings: MeshSettings) -> AsyncIterator[TopicTap]:
    tap = TopicTap(settings, settings.task_topic("summarizer"))
    await tap.start()
    yield tap
    await tap.stop()


@pytest.fixture
async def elsewhere(settings: MeshSettings) -> AsyncIterator[TopicTap]:
    """A topic of a stranger's, where a replayed task would like its reply sent."""
    topic = f"it.stranger.{uuid.uuid4().hex[:8]}"
    await ensure_topics(settings, [topic])
    tap = TopicTap(settings, topic)
    await tap.start()
    yield tap
    await tap.stop()


async def test_a_stored_reply_goes_only_to_a_redelivery_of_its_own_task(
    mesh: MeshClient,
    raw: RawProducer,
    settings: MeshSettings,
    deadletters: TopicTap,
    mesh_replies: TopicTap,
    summarizer_tasks: TopicTap,
    elsewhere: TopicTap,
) -> None:
    """The summarizer keeps its replies, so that a redelivered task runs no inference again.
    Only the very same task record gets a kept reply back: a task reusing its task id (and
    request id) under another event, or naming a stranger's reply topic, gets nothing."""
    request = new_request(
        mesh,
        "summarize this",
        calls=[{"micromodel": "summarizer", "arguments": {"text": TEXT}}],
        timeout_ms=60_000,
    )
    rid = mesh_id(request.requestid)
    task_id = f"{rid}:1"
    response = await asyncio.wait_for(await mesh.submit(request), MODEL_WAIT_S)
    assert response.data.status == "ok", response.data.answer
    [original_task] = await summarizer_tasks.wait_for(lambda r: r.key_text == task_id)
    [original] = await mesh_replies.wait_for(lambda r: is_reply_to(r, task_id))

    # The very same record again (a redelivery): its kept reply, byte for byte.
    headers = list(original_task.headers.items())
    topic = settings.task_topic("summarizer")
    await raw.send(topic, original_task.value, key=task_id, headers=headers)
    await mesh_replies.wait_for(lambda r: r.value == original.value, count=2)

    event = original_task.event(TaskRequested)
    # The same ids under another event: another task, which runs (no kept reply for it).
    again = event.model_copy(update={"id": uuid.uuid4().hex})
    await send_task(raw, settings, "summarizer", encode(again), key=task_id)
    [rerun] = await mesh_replies.wait_for(
        lambda r: is_reply_to(r, task_id) and r.value != original.value, timeout=MODEL_WAIT_S
    )
    assert rerun.event(TaskCompleted).causationid == again.id

    # The same event naming a stranger's reply topic: refused, whoever proved it (the
    # orchestrator's key, or a caller's signature), and answered nowhere.
    stolen = event.model_copy(
        update={"data": event.data.model_copy(update={"reply_topic": elsewhere.topic})}
    )
    value = encode(stolen)
    by_orchestrator = await send_task(raw, settings, "summarizer", value, key=task_id)
    signed = value + b" "  # its own bytes, to tell its dead letter apart
    by_a_caller = await raw.send(
        topic, signed, key=task_id, headers=proven("dev", topic, task_id, signed, to=None)
    )
    dead = await dead_letter_of(deadletters, value)
    assert_dead_letter(dead, by_orchestrator, code="unknown_reply_topic", service="summarizer")
    dead = await dead_letter_of(deadletters, signed)
    assert_dead_letter(dead, by_a_caller, code="unauthenticated_task", service="summarizer")
    await settle(elsewhere)
    assert elsewhere.records == []
    await settle(mesh_replies)
    # The original, its redelivery, the rerun: nothing more for this task.
    assert len(mesh_replies.matching(lambda r: is_reply_to(r, task_id))) == 3
    assert rid == original.key_text


def is_reply_to(record: Record, task_id: str) -> bool:
    try:
        return record.event(TaskCompleted).data.task_id == task_id
    except ContractError:  # a TaskFailed, or another request's record
        return False
