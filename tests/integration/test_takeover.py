"""A replica that dies while answering: its request is answered by another, exactly once.

The test plays the completer that dies. It takes the last reply of a real
request itself (as an orchestrator would, with a short lease) and then
"dies": before publishing the answer, or just after. The running
orchestrators' sweepers take the request over when the lease runs out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from slmesh.orchestrator.gather.store import GatherStore, ReplyOutcome
from slmesh.runtime.client import MeshClient
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import RequestCompleted, encode
from tests.support.identities import DEV_CALLER
from tests.support.kit import (
    GHOST,
    ORCHESTRATOR,
    WAIT_S,
    RawProducer,
    TopicTap,
    ghost_answer,
    ghost_tasks_of,
    mesh_id,
    new_request,
    no_second_response,
    prove_as,
    responses_for,
)

LEASE_MS = 300


@pytest.fixture
async def dying_completer(settings: MeshSettings) -> AsyncIterator[GatherStore]:
    """The gather store as a completer with a short lease sees it."""
    store = GatherStore.from_url(settings.redis_url.get_secret_value(), lease_ms=LEASE_MS)
    yield store
    await store.close()


async def take_last_reply(
    mesh: MeshClient, ghost_tasks: TopicTap, store: GatherStore, text: str
) -> str:
    """Send a one-call request and record its reply as the completer would; its request id
    (the caller's own)."""
    request = new_request(
        mesh, text, calls=[{"micromodel": GHOST, "arguments": {"n": 7}}], timeout_ms=60_000
    )
    await mesh.submit(request)
    [task] = await ghost_tasks_of(ghost_tasks, request.requestid, 1)
    answer = encode(ghost_answer(task, {"n": 7}))
    outcome, _ = await store.record_reply(
        mesh_id(request.requestid),
        task.data.task_id,
        micromodel=GHOST,
        event=answer,
        received_ms=time.time() * 1000,
    )
    assert outcome is ReplyOutcome.COMPLETE
    return request.requestid


async def until_done(store: GatherStore, rid: str) -> None:
    """Until the dev caller's request `rid` is answered (its gather state is done)."""
    async with asyncio.timeout(WAIT_S):
        # Polled: the gather state sends no notification.
        while await store.state(mesh_id(rid)) != "done":  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def test_a_completer_that_died_before_answering_is_replaced(
    mesh: MeshClient,
    ghost_tasks: TopicTap,
    responses: TopicTap,
    dying_completer: GatherStore,
) -> None:
    rid = await take_last_reply(mesh, ghost_tasks, dying_completer, "dies before answering")
    # ...and dies. When its lease runs out a live orchestrator answers, once.
    await until_done(dying_completer, rid)
    await no_second_response(responses, rid)
    [record] = responses_for(responses, rid)
    answer = record.event(RequestCompleted)
    assert answer.source.startswith("/slmesh/orchestrator/")
    assert answer.data.status == "ok"
    assert answer.data.calls[0].output == {"n": 7}


async def test_a_completer_that_died_just_after_answering_is_not_answered_again(
    mesh: MeshClient,
    settings: MeshSettings,
    raw: RawProducer,
    ghost_tasks: TopicTap,
    responses: TopicTap,
    dying_completer: GatherStore,
) -> None:
    rid = await take_last_reply(mesh, ghost_tasks, dying_completer, "dies after answering")
    # It publishes the answer, then dies before telling Redis (mark_done).
    own = RequestCompleted.create(
        data={
            "status": "ok",
            "answer": "answered by the dying completer",
            "planner": "explicit",
            "elapsed_ms": 1.0,
        },
        source="/slmesh/orchestrator/dying-completer",
        request_id=rid,
    )
    value = encode(own)
    # As the orchestrator would: on the caller's own topic, proven to it.
    topic = responses.topic
    await raw.send(
        topic, value, key=rid, headers=prove_as(ORCHESTRATOR, topic, value, key=rid, to=DEV_CALLER)
    )
    # The replica taking the request over finds that answer and only records it.
    await until_done(dying_completer, rid)
    await no_second_response(responses, rid)
    [record] = responses_for(responses, rid)
    assert record.event(RequestCompleted).source == "/slmesh/orchestrator/dying-completer"
