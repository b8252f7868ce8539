"""Bad input ends somewhere visible, and the consumer that met it keeps serving.

Each case sends something wrong, checks the error response and/or the
dead-letter record (original bytes, reason, where it came from), then sends a
good request through the same partition and sees it answered.
"""

from __future__ import annotations

import asyncio
import uuid

import orjson

from slmesh.cli.devstack import DevStack, ServiceProcess
from slmesh.runtime.client import MeshClient
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import RequestCompleted, TaskCompleted, encode
from tests.support.identities import DEV_CALLER
from tests.support.kit import (
    GHOST,
    REQUESTS_GROUP,
    VAT_RATES_GROUP,
    WAIT_S,
    RawProducer,
    Sent,
    TopicTap,
    assert_dead_letter,
    assert_services_running,
    dead_letter_of,
    ghost_tasks_of,
    mesh_id,
    new_id,
    new_request,
    no_second_response,
    reply_as_ghost,
    send_reply,
    send_task,
    serves_next_request,
    task_for,
    until_consumed,
)


def request_dict(mesh: MeshClient, text: str = "VAT in Germany") -> dict[str, object]:
    return new_request(mesh, text).model_dump(mode="json", exclude_none=True)


async def failed_response(
    mesh: MeshClient, raw: RawProducer, value: bytes, key: str
) -> tuple[RequestCompleted, Sent]:
    future = mesh.expect(key)
    # Proven by the caller: only then is it answered (on the caller's own topic).
    sent = await raw.send(mesh.settings.requests_topic, value, key=key, proven_as=DEV_CALLER)
    response = await asyncio.wait_for(future, WAIT_S)
    assert response.data.status == "failed", response.data.answer
    assert response.data.calls == []
    assert response.source.startswith("/slmesh/orchestrator/")
    return response, sent


# --- on the requests topic --------------------------------------------------------------


async def test_malformed_json_is_dead_lettered_and_answered_by_its_key(
    stack: DevStack, mesh: MeshClient, raw: RawProducer, deadletters: TopicTap, responses: TopicTap
) -> None:
    key = new_id("garbage")
    value = b'{"specversion": "1.0", "id": ' + uuid.uuid4().hex.encode() + b" <- not JSON"
    response, sent = await failed_response(mesh, raw, value, key)

    assert response.data.error is not None
    assert response.data.error.code == "malformed_event"
    assert "not valid JSON" in response.data.error.message
    dead = await dead_letter_of(deadletters, value)
    assert dead.key_text == key
    assert_dead_letter(dead, sent, code="malformed_event", service="orchestrator")

    await serves_next_request(mesh, raw, sent.partition)
    await no_second_response(responses, key)
    assert_services_running(stack)


async def test_malformed_json_without_a_key_is_dead_lettered(
    stack: DevStack,
    mesh: MeshClient,
    raw: RawProducer,
    settings: MeshSettings,
    deadletters: TopicTap,
) -> None:
    value = b"\x00\xffnot an event " + uuid.uuid4().hex.encode()
    sent = await raw.send(settings.requests_topic, value, proven_as=DEV_CALLER)

    dead = await dead_letter_of(deadletters, value)
    assert dead.key is None
    assert_dead_letter(dead, sent, code="malformed_event", service="orchestrator")
    await serves_next_request(mesh, raw, sent.partition)
    assert_services_running(stack)


async def test_an_unsupported_schema_version_is_refused_with_a_clear_error(
    stack: DevStack, mesh: MeshClient, raw: RawProducer, deadletters: TopicTap, responses: TopicTap
) -> None:
    event = request_dict(mesh)
    event["dataschema"] = "urn:slmesh:RequestSubmitted:v2"
    value = orjson.dumps(event)
    request_id = str(event["requestid"])
    response, sent = await failed_response(mesh, raw, value, request_id)

    assert response.data.error is not None
    assert response.data.error.code == "unsupported_schema_version"
    assert "v2 is not supported" in response.data.error.message
    assert "urn:slmesh:RequestSubmitted:v1" in response.data.error.message
    dead = await dead_letter_of(deadletters, value)
    assert_dead_letter(dead, sent, code="unsupported_schema_version", service="orchestrator")

    await serves_next_request(mesh, raw, sent.partition)
    await no_second_response(responses, request_id)
    assert_services_running(stack)


async def test_an_invalid_request_is_refused_naming_the_field(
    mesh: MeshClient, raw: RawProducer, deadletters: TopicTap
) -> None:
    event = request_dict(mesh)
    event["data"] = {"input": "VAT in Germany", "colour": "blue"}
    value = orjson.dumps(event)
    response, sent = await failed_response(mesh, raw, value, str(event["requestid"]))

    assert response.data.error is not None
    assert response.data.error.code == "invalid_event"
    assert "data.colour" in response.data.error.message
    assert_dead_letter(
        await dead_letter_of(deadletters, value), sent, code="invalid_event", service="orchestrator"
    )
    await serves_next_request(mesh, raw, sent.partition)


async def test_an_unknown_micromodel_is_refused_by_name(
    mesh: MeshClient, raw: RawProducer, responses: TopicTap
) -> None:
    request = new_request(
        mesh,
        "translate this",
        calls=[
            {"micromodel": "vat-rates", "arguments": {"country": "DE"}},
            {"micromodel": "translator", "arguments": {"text": "hallo"}},
        ],
    )
    future = mesh.expect(request.requestid)
    sent = await raw.send(
        mesh.settings.requests_topic, encode(request), key=request.requestid, proven_as=DEV_CALLER
    )
    response = await asyncio.wait_for(future, WAIT_S)

    data = response.data
    assert data.status == "failed", data.answer
    assert data.calls == []
    assert data.planner == "explicit"
    assert data.error is not None
    assert data.error.code == "unknown_micromodel"
    assert "translator" in data.error.message
    assert "translator" in data.answer
    await serves_next_request(mesh, raw, sent.partition)
    await no_second_response(responses, request.requestid)


async def test_a_request_no_planner_can_plan_fails_with_no_plan(mesh: MeshClient) -> None:
    response = await mesh.ask("What is the VAT rate on the moon?", timeout_s=WAIT_S)

    assert response.data.status == "failed", response.data.answer
    assert response.data.error is not None
    assert response.data.error.code == "no_plan"
    assert "names no EU member state" in response.data.answer


async def test_an_oversized_request_is_refused_and_dead_lettered(
    stack: DevStack,
    mesh: MeshClient,
    raw: RawProducer,
    settings: MeshSettings,
    deadletters: TopicTap,
) -> None:
    event = request_dict(mesh)
    event["data"] = {"input": "VAT in Germany? " + "x" * 300_000}
    value = orjson.dumps(event)
    assert len(value) > settings.max_event_bytes
    key = str(event["requestid"])
    response, sent = await failed_response(mesh, raw, value, key)

    assert response.data.error is not None
    assert response.data.error.code == "payload_too_large"
    assert str(settings.max_event_bytes) in response.data.error.message
    dead = await dead_letter_of(deadletters, value)
    assert dead.key_text == key
    assert_dead_letter(dead, sent, code="payload_too_large", service="orchestrator")

    await serves_next_request(mesh, raw, sent.partition)
    assert_services_running(stack)


async def test_a_rejected_request_sent_twice_is_answered_once(
    mesh: MeshClient,
    raw: RawProducer,
    settings: MeshSettings,
    responses: TopicTap,
    deadletters: TopicTap,
) -> None:
    key = new_id("garbage")
    value = b"not json, twice " + key.encode()
    _, first = await failed_response(mesh, raw, value, key)
    second = await raw.send(settings.requests_topic, value, key=key, proven_as=DEV_CALLER)

    await until_consumed(settings, REQUESTS_GROUP, second)
    # Both copies are dead-lettered, but the request id gets one answer.
    assert len(await deadletters.wait_for(lambda r: r.value == value, count=2)) == 2
    await no_second_response(responses, key)
    assert first.offset != second.offset


# Rejections whose ids cannot name a response: dead-letter, answer by the Kafka
# key when that is a valid id, commit, move on. A short bound keeps these cheap:
# the services commit a handled record within milliseconds.
BUG_BOUND_S = 3.0


async def test_a_rejected_record_whose_key_is_no_valid_id_is_still_committed(
    mesh: MeshClient, raw: RawProducer, settings: MeshSettings, deadletters: TopicTap
) -> None:
    value = b"garbage with an unusable key " + uuid.uuid4().hex.encode()
    sent = await raw.send(
        settings.requests_topic, value, key="not a valid id!", proven_as=DEV_CALLER
    )

    dead = await dead_letter_of(deadletters, value)
    assert_dead_letter(dead, sent, code="malformed_event", service="orchestrator")
    await until_consumed(settings, REQUESTS_GROUP, sent, timeout=BUG_BOUND_S)


async def test_a_request_with_an_invalid_id_is_answered_by_its_valid_key(
    mesh: MeshClient, raw: RawProducer, settings: MeshSettings, deadletters: TopicTap
) -> None:
    event = request_dict(mesh)
    event["requestid"] = "spaces are not allowed here"
    value = orjson.dumps(event)
    key = new_id("key")
    future = mesh.expect(key)
    sent = await raw.send(settings.requests_topic, value, key=key, proven_as=DEV_CALLER)

    dead = await dead_letter_of(deadletters, value)
    assert_dead_letter(dead, sent, code="invalid_event", service="orchestrator")
    response = await asyncio.wait_for(future, BUG_BOUND_S)
    assert response.data.status == "failed"
    assert response.data.error is not None
    assert response.data.error.code == "invalid_event"


async def test_a_malformed_task_with_unusable_ids_is_still_committed(
    raw: RawProducer, settings: MeshSettings, deadletters: TopicTap
) -> None:
    value = orjson.dumps(
        {
            "requestid": "not a valid id",
            "data": {"task_id": uuid.uuid4().hex, "reply_topic": settings.replies_topic},
        }
    )
    # Proven by the orchestrator: it is the contents that are wrong.
    sent = await send_task(raw, settings, "vat-rates", value, key="bad-task")

    dead = await dead_letter_of(deadletters, value)
    assert_dead_letter(dead, sent, code="unsupported_schema_version", service="vat-rates")
    await until_consumed(settings, VAT_RATES_GROUP, sent, timeout=BUG_BOUND_S)


# --- on a micromodel's task topic ----------------------------------------------------------


async def test_invalid_arguments_fail_that_call_only(mesh: MeshClient) -> None:
    response = await mesh.ask(
        "Germany and a country that does not exist",
        timeout_s=WAIT_S,
        calls=[
            {"micromodel": "vat-rates", "arguments": {"country": "DE"}},
            {"micromodel": "vat-rates", "arguments": {"country": "XX"}},
        ],
    )

    data = response.data
    assert data.status == "partial", data.answer
    ok, bad = data.calls
    assert ok.status == "ok"
    assert bad.status == "failed"
    assert bad.error is not None
    assert bad.error.code == "invalid_arguments"
    assert "country" in bad.error.message
    assert "Germany (DE): standard 19%" in data.answer
    assert "Failed: vat-rates(country=XX): invalid_arguments" in data.answer


async def test_a_malformed_task_is_dead_lettered_by_the_micromodel(
    stack: DevStack,
    mesh: MeshClient,
    raw: RawProducer,
    settings: MeshSettings,
    deadletters: TopicTap,
    mesh_replies: TopicTap,
) -> None:
    value = b"{{ not a task " + uuid.uuid4().hex.encode()
    sent = await send_task(raw, settings, "vat-rates", value, key="not-a-task")

    dead = await dead_letter_of(deadletters, value)
    assert_dead_letter(dead, sent, code="malformed_event", service="vat-rates")

    # A valid task on the same partition is still answered.
    task = task_for("vat-rates", {"country": "AT"}, mesh_replies.topic)
    request_id = task.requestid
    await send_task(
        raw, settings, "vat-rates", encode(task), key=task.data.task_id, partition=sent.partition
    )
    [record] = await mesh_replies.wait_for(lambda r: r.key_text == request_id)
    reply = record.event(TaskCompleted)
    assert reply.causationid == task.id
    assert reply.data.task_id == task.data.task_id
    assert reply.data.replica == "vat-rates-1"
    assert reply.data.summary is not None
    assert reply.data.summary.startswith("Austria (AT): standard 20%")
    assert_services_running(stack)


async def test_an_unreadable_task_with_its_ids_fails_its_call_at_once(
    mesh: MeshClient,
    raw: RawProducer,
    settings: MeshSettings,
    slow: ServiceProcess,
    deadletters: TopicTap,
) -> None:
    """A task the micromodel cannot read is dead-lettered, and the request hears about it.

    While the slow micromodel runs a request's call, the orchestrator (a version
    ahead, say) sends it a task of that call in a schema version it does not
    read: the micromodel salvages the ids and replies TaskFailed, so the call
    fails at once instead of waiting for its long deadline.
    """
    request = new_request(
        mesh,
        "a task slow cannot read",
        calls=[{"micromodel": "slow", "arguments": {"seconds": 6}}],
        timeout_ms=60_000,
    )
    future = await mesh.submit(request)
    task = task_for("slow", {"seconds": 6}, settings.replies_topic)
    event = task.model_dump(mode="json", exclude_none=True)
    # Inside the mesh the request is known by its caller's scoped id.
    event["requestid"] = mesh_id(request.requestid)
    event["data"]["task_id"] = task_id = f"{mesh_id(request.requestid)}:1"
    event["dataschema"] = "urn:slmesh:TaskRequested:v9"
    value = orjson.dumps(event)
    sent = await send_task(raw, settings, "slow", value, key=task_id)

    response = await asyncio.wait_for(future, WAIT_S)
    # Failed by the unreadable task's TaskFailed: the real call would have answered ok.
    assert response.data.status == "failed", response.data.answer
    [call] = response.data.calls
    assert (call.task_id, call.status) == (task_id, "failed")
    assert call.error is not None
    assert call.error.code == "unsupported_schema_version"
    dead = await dead_letter_of(deadletters, value)
    assert_dead_letter(dead, sent, code="unsupported_schema_version", service="slow")


# --- on the replies topic --------------------------------------------------------------------


async def test_garbage_on_the_replies_topic_is_dead_lettered_by_the_orchestrator(
    stack: DevStack,
    mesh: MeshClient,
    raw: RawProducer,
    settings: MeshSettings,
    ghost_tasks: TopicTap,
    deadletters: TopicTap,
) -> None:
    value = b"[reply?] " + uuid.uuid4().hex.encode()
    # Proven by a micromodel: it is the contents that are wrong.
    sent = await send_reply(raw, settings.replies_topic, value, key=new_id(), signer=GHOST)

    dead = await dead_letter_of(deadletters, value)
    assert_dead_letter(dead, sent, code="malformed_event", service="orchestrator")

    # A good reply on the same partition still completes its request.
    request = new_request(
        mesh, "ghost", calls=[{"micromodel": GHOST, "arguments": {}}], timeout_ms=20_000
    )
    future = await mesh.submit(request)
    [task] = await ghost_tasks_of(ghost_tasks, request.requestid, 1)
    await reply_as_ghost(raw, task, {"fine": True}, partition=sent.partition)
    response = await asyncio.wait_for(future, WAIT_S)
    assert response.data.status == "ok", response.data.answer
    assert response.data.calls[0].output == {"fine": True}
    assert_services_running(stack)


async def test_a_reply_of_the_wrong_event_type_is_dead_lettered(
    mesh: MeshClient, raw: RawProducer, settings: MeshSettings, deadletters: TopicTap
) -> None:
    # A request where a reply belongs: valid JSON, valid event, wrong place.
    request = new_request(mesh, "VAT in Germany")
    value = encode(request)
    sent = await send_reply(
        raw, settings.replies_topic, value, key=request.requestid, signer="vat-rates"
    )

    dead = await dead_letter_of(deadletters, value)
    assert_dead_letter(dead, sent, code="unknown_event_type", service="orchestrator")
