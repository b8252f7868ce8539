"""Two orchestrator replicas share one stream of requests and replies, through Redis."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

from slmesh.cli.devstack import DevStack
from slmesh.runtime.client import MeshClient
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import RequestCompleted, encode
from tests.support.identities import DEV_CALLER
from tests.support.kit import (
    GHOST,
    ORCHESTRATORS,
    REQUESTS_GROUP,
    WAIT_S,
    RawProducer,
    Sent,
    TopicTap,
    assert_services_running,
    ghost_tasks_of,
    mesh_id,
    new_request,
    no_second_response,
    reply_as_ghost,
    settle,
    until_consumed,
)

COUNTRIES = {"Germany": "DE", "France": "FR", "Italy": "IT", "Spain": "ES", "Poland": "PL"}


async def test_two_replicas_answer_concurrent_requests_exactly_once(
    stack: DevStack, mesh: MeshClient, responses: TopicTap
) -> None:
    rng = random.Random(7)
    requests = []
    for _ in range(30):
        names = rng.sample(sorted(COUNTRIES), rng.randint(1, 3))
        requests.append(new_request(mesh, f"VAT rates in {' and '.join(names)}"))
    # Requests no rule can plan, answered at once by the replica that took them.
    # Planning runs inside a request's deadline: theirs covers the model's queue.
    unplannable = [
        new_request(mesh, f"Tell me a joke, #{i}", timeout_ms=120_000) for i in range(20)
    ]
    futures = await asyncio.gather(*(mesh.submit(r) for r in [*requests, *unplannable]))
    # 20 of them are routed by the planner model, one at a time per replica, on a
    # shared 2-core machine: this test is about exactly-once, so a generous budget.
    everything: list[RequestCompleted] = await asyncio.wait_for(
        asyncio.gather(*futures), 3 * WAIT_S
    )
    answers, refusals = everything[: len(requests)], everything[len(requests) :]

    for request, response in zip(requests, answers, strict=True):
        assert response.requestid == request.requestid
        assert response.causationid == request.id
        assert response.data.status == "ok", response.data.answer
        asked = [COUNTRIES[n] for n in COUNTRIES if n in request.data.input]
        assert sorted(str(c.arguments["country"]) for c in response.data.calls) == sorted(asked)
    for request, refusal in zip(unplannable, refusals, strict=True):
        assert refusal.requestid == request.requestid
        assert refusal.data.status == "failed"
        assert refusal.data.error is not None
        assert refusal.data.error.code == "no_plan"

    replicas = {f"/slmesh/orchestrator/{name}" for name in ORCHESTRATORS}
    # Both took requests from the requests topic ...
    by_requests = Counter(r.source for r in refusals)
    assert set(by_requests) == replicas, by_requests
    # ... and both finished requests from the replies topic.
    by_replies = Counter(r.source for r in answers)
    assert set(by_replies) == replicas, by_replies

    # Read back from the topic itself: one response per request, none twice.
    await settle(responses)
    ids = {q.requestid for q in [*requests, *unplannable]}
    per_request = Counter(r.key_text for r in responses.records if r.key_text in ids)
    assert per_request == Counter(dict.fromkeys(ids, 1))
    assert_services_running(stack)


async def test_replies_taken_by_either_replica_complete_one_request(
    mesh: MeshClient,
    raw: RawProducer,
    settings: MeshSettings,
    ghost_tasks: TopicTap,
    responses: TopicTap,
) -> None:
    """Replies spread over every partition reach both replicas; the request still completes.

    Each replica holds only some partitions of the replies topic, so neither
    sees every reply: only gather state shared in Redis can complete the request.
    """
    n = len(ghost_tasks.partitions)
    request = new_request(
        mesh,
        "ghost fan-out",
        calls=[{"micromodel": GHOST, "arguments": {"part": i}} for i in range(n)],
        timeout_ms=20_000,
    )
    future = await mesh.submit(request)
    tasks = await ghost_tasks_of(ghost_tasks, request.requestid, n)
    for partition, task in enumerate(tasks):
        await reply_as_ghost(raw, task, {"echo": task.data.arguments["part"]}, partition=partition)
    response = await asyncio.wait_for(future, WAIT_S)

    assert response.data.status == "ok", response.data.answer
    assert [c.output for c in response.data.calls] == [{"echo": i} for i in range(n)]
    await no_second_response(responses, request.requestid)


async def test_a_redelivered_request_gets_exactly_one_response(
    mesh: MeshClient,
    raw: RawProducer,
    settings: MeshSettings,
    responses: TopicTap,
    vat_tasks: TopicTap,
) -> None:
    request = new_request(mesh, "VAT rates in Germany and Austria")
    value = encode(request)
    future = mesh.expect(request.requestid)
    first = await raw.send(
        settings.requests_topic, value, key=request.requestid, proven_as=DEV_CALLER
    )
    # The same bytes again on the same partition (a redelivery), and on another
    # one, which the other replica may hold (a producer that retried elsewhere).
    other = (first.partition + 1) % settings.partitions
    copies: list[Sent] = [
        first,
        await raw.send(settings.requests_topic, value, key=request.requestid, proven_as=DEV_CALLER),
        await raw.send(
            settings.requests_topic,
            value,
            key=request.requestid,
            partition=other,
            proven_as=DEV_CALLER,
        ),
    ]
    response = await asyncio.wait_for(future, WAIT_S)
    assert response.data.status == "ok", response.data.answer
    assert len(response.data.calls) == 2

    await until_consumed(settings, REQUESTS_GROUP, *copies)
    await no_second_response(responses, request.requestid)
    # Planned once: the same two task ids, one per country, whatever the copies.
    # A copy that arrives while the request is still open sends its unanswered
    # tasks again (its first taker may have died mid-dispatch); the micromodel
    # answers a task id once and the gather counts it once.
    await vat_tasks.caught_up()
    rid = mesh_id(request.requestid)
    tasks = vat_tasks.matching(lambda r: (r.key_text or "").startswith(f"{rid}:"))
    sent = Counter(r.key_text or "" for r in tasks)
    assert set(sent) == {f"{rid}:1", f"{rid}:2"}
    assert all(n <= len(copies) for n in sent.values())
