"""Callers apart, on real parts: a caller's requests are its own, and so are its answers.

Each case is an attack a party on the broker could try, as the mesh meets it
on the session's real broker, Redis and orchestrators: the rejection and its
reason, nothing leaked to anyone (no response on any caller's topic, no
task), and the next legitimate request answered. The callers are those of
the suite's keyring (tests/support/identities.py): `dev` (the `mesh`
client), `other`, and `limited` (an allow-list and a cap of its own).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from slmesh.runtime.client import MeshClient
from slmesh.runtime.kafka.publishing import DLQ_ERROR
from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.trust import response_topic
from slmesh.schemas import RequestCompleted, encode
from tests.support.identities import (
    DEV_CALLER,
    LIMITED_CALLER,
    LIMITED_MAX_IN_FLIGHT,
    OTHER_CALLER,
)
from tests.support.kit import (
    GHOST,
    ORCHESTRATOR,
    QUIET_S,
    REQUESTS_GROUP,
    WAIT_S,
    RawProducer,
    Record,
    Sent,
    TopicTap,
    assert_dead_letter,
    dead_letter_of,
    ghost_request,
    ghost_tasks_of,
    new_id,
    new_request,
    no_second_response,
    prove_as,
    reply_as_ghost,
    responses_for,
    serves_next_request,
    settle,
    until_consumed,
)
from tests.support.proofs import party

# --- the callers' clients and topics ----------------------------------------------------


@pytest.fixture(scope="module")
async def other(settings: MeshSettings) -> AsyncIterator[MeshClient]:
    """A client of the second caller: it reads its own response topic."""
    caller = party(OTHER_CALLER)
    async with MeshClient(settings, source="/slmesh/integration-tests/other", party=caller) as c:
        yield c


@pytest.fixture(scope="module")
async def limited(settings: MeshSettings) -> AsyncIterator[MeshClient]:
    """A client of the caller held to an allow-list and a cap."""
    caller = party(LIMITED_CALLER)
    async with MeshClient(settings, source="/slmesh/integration-tests/limited", party=caller) as c:
        yield c


async def tap_of(settings: MeshSettings, caller: str) -> AsyncIterator[TopicTap]:
    tap = TopicTap(settings, response_topic(settings.responses_topic, caller))
    await tap.start()
    yield tap
    await tap.stop()


@pytest.fixture(scope="module")
async def other_responses(settings: MeshSettings) -> AsyncIterator[TopicTap]:
    async for tap in tap_of(settings, OTHER_CALLER):
        yield tap


@pytest.fixture(scope="module")
async def limited_responses(settings: MeshSettings) -> AsyncIterator[TopicTap]:
    async for tap in tap_of(settings, LIMITED_CALLER):
        yield tap


def assert_refused_unproven(dead_letter: Record, sent: Sent, *reason: str) -> None:
    """Dead-lettered as no caller's, the reason naming what was wrong with its proof."""
    assert_dead_letter(dead_letter, sent, code="unauthenticated_request", service="orchestrator")
    error = dead_letter.header(DLQ_ERROR)
    for words in reason:
        assert words in error, error


async def nothing_for(request_id: str, *taps: TopicTap) -> None:
    """No response to `request_id` on any of the callers' topics."""
    for tap in taps:
        await settle(tap)
        assert responses_for(tap, request_id) == [], tap.topic


# --- who sent it ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signer", "reason"),
    [
        (None, "carries no proof of its writer"),
        ("vat-rates", "is a micromodel; only a caller writes here"),
        (ORCHESTRATOR, "is a orchestrator; only a caller writes here"),
    ],
    ids=["unsigned", "a-micromodels-key", "the-orchestrators-key"],
)
async def test_a_forged_request_is_dead_lettered_and_answered_nowhere(
    signer: str | None,
    reason: str,
    mesh: MeshClient,
    raw: RawProducer,
    settings: MeshSettings,
    deadletters: TopicTap,
    responses: TopicTap,
    other_responses: TopicTap,
    vat_tasks: TopicTap,
) -> None:
    request = new_request(mesh, "VAT rates in Germany")
    value = encode(request)
    topic = settings.requests_topic
    headers = None if signer is None else prove_as(signer, topic, value, key=request.requestid)
    sent = await raw.send(topic, value, key=request.requestid, headers=headers)

    assert_refused_unproven(await dead_letter_of(deadletters, value), sent, reason)
    await until_consumed(settings, REQUESTS_GROUP, sent)
    # Not planned, not dispatched, not answered: to nobody.
    await nothing_for(request.requestid, responses, other_responses)
    await vat_tasks.caught_up()
    assert not vat_tasks.matching(lambda r: request.requestid in (r.key_text or ""))
    await serves_next_request(mesh, raw, sent.partition)


async def test_a_request_altered_after_its_caller_proved_it_is_refused(
    mesh: MeshClient, raw: RawProducer, settings: MeshSettings, deadletters: TopicTap
) -> None:
    request = new_request(mesh, "VAT rates in Germany")
    topic = settings.requests_topic
    headers = prove_as(DEV_CALLER, topic, encode(request), key=request.requestid)
    # The same proof on other bytes: a request for every EU country instead.
    altered = encode(request).replace(b"in Germany", b"in all EU")
    sent = await raw.send(topic, altered, key=request.requestid, headers=headers)

    assert_refused_unproven(
        await dead_letter_of(deadletters, altered), sent, "proof does not match", "'dev'"
    )
    await serves_next_request(mesh, raw, sent.partition)


async def test_a_garbage_record_keyed_with_a_pending_request_id_does_not_silence_it(
    mesh: MeshClient,
    raw: RawProducer,
    settings: MeshSettings,
    ghost_tasks: TopicTap,
    deadletters: TopicTap,
    responses: TopicTap,
    other_responses: TopicTap,
) -> None:
    """Before, a garbage record under someone's request id was answered as failed and
    claimed that id for an hour: the real request was never answered. Now unproven
    garbage touches no state, and another caller's garbage under the same id is that
    caller's own request."""
    request = ghost_request(mesh, 1, timeout_ms=30_000)
    rid = request.requestid
    future = await mesh.submit(request)
    [task] = await ghost_tasks_of(ghost_tasks, rid, 1)

    # A stranger's garbage, then another caller's, under dev's pending request id.
    garbage = b"\x00 silence " + rid.encode()
    stranger = await raw.send(settings.requests_topic, garbage, key=rid)
    theirs = await raw.send(
        settings.requests_topic, garbage + b" (other)", key=rid, proven_as=OTHER_CALLER
    )
    assert_refused_unproven(await dead_letter_of(deadletters, garbage), stranger)
    # Proven by `other`: its own request id, answered on its own topic.
    [record] = await other_responses.wait_for(lambda r: r.key_text == rid)
    assert record.event(RequestCompleted).data.error is not None
    await until_consumed(settings, REQUESTS_GROUP, stranger, theirs)
    assert not future.done()

    # dev's request is still open, and answered in full when its call replies.
    await reply_as_ghost(raw, task, {"n": 1})
    response = await asyncio.wait_for(future, WAIT_S)
    assert response.data.status == "ok", response.data.answer
    await no_second_response(responses, rid)


# --- whose answers --------------------------------------------------------------------


async def test_two_callers_with_the_same_request_id_each_get_their_own_answer(
    mesh: MeshClient,
    other: MeshClient,
    raw: RawProducer,
    ghost_tasks: TopicTap,
    responses: TopicTap,
    other_responses: TopicTap,
) -> None:
    rid = new_id("shared")
    # dev's request waits on the ghost; other's, with the same id, is a VAT question.
    pending = await mesh.submit(
        mesh.request(
            "ask the ghost", request_id=rid, calls=[{"micromodel": GHOST, "arguments": {}}]
        )
    )
    [task] = await ghost_tasks_of(ghost_tasks, rid, 1)
    theirs = await asyncio.wait_for(
        await other.submit(other.request("VAT rates in France", request_id=rid)), WAIT_S
    )
    assert theirs.data.status == "ok", theirs.data.answer
    assert "France (FR)" in theirs.data.answer
    assert theirs.requestid == rid
    # Neither completed nor silenced the other's.
    assert not pending.done()
    await reply_as_ghost(raw, task, {"answer": "dev's own"})
    ours = await asyncio.wait_for(pending, WAIT_S)
    assert ours.data.status == "ok", ours.data.answer
    assert ours.data.calls[0].output == {"answer": "dev's own"}
    # One answer each, each on its own caller's topic.
    await no_second_response(responses, rid)
    await no_second_response(other_responses, rid)
    [on_dev] = responses_for(responses, rid)
    [on_other] = responses_for(other_responses, rid)
    assert on_dev.event(RequestCompleted).data.calls[0].micromodel == GHOST
    assert on_other.event(RequestCompleted).data.calls[0].micromodel == "vat-rates"


async def test_a_caller_does_not_see_another_callers_answers(
    mesh: MeshClient, other: MeshClient, other_responses: TopicTap
) -> None:
    request = new_request(mesh, "VAT rates in Italy")
    # other waits for dev's request id on its own topic: nothing comes.
    snooping = other.expect(request.requestid)
    response = await asyncio.wait_for(await mesh.submit(request), WAIT_S)
    assert response.data.status == "ok"
    await settle(other_responses)
    assert responses_for(other_responses, request.requestid) == []
    assert not snooping.done()
    snooping.cancel()


async def test_a_request_naming_another_callers_topic_is_refused_on_its_own(
    mesh: MeshClient,
    raw: RawProducer,
    settings: MeshSettings,
    responses: TopicTap,
    other_responses: TopicTap,
) -> None:
    target = response_topic(settings.responses_topic, OTHER_CALLER)
    request = new_request(mesh, "VAT rates in Spain", reply_topic=target)
    response = await asyncio.wait_for(await mesh.submit(request), WAIT_S)
    assert response.data.status == "failed"
    assert response.data.error is not None
    assert response.data.error.code == "forbidden_reply_topic"
    assert target in response.data.error.message
    assert mesh.responses_topic in response.data.error.message
    assert response.data.calls == []
    await no_second_response(responses, request.requestid)
    await nothing_for(request.requestid, other_responses)
    await serves_next_request(mesh, raw)


@pytest.mark.parametrize(
    "forger",
    ["unsigned", "another-caller", "the-orchestrator-for-another-caller"],
)
async def test_a_forged_answer_on_a_callers_topic_is_not_believed(
    forger: str,
    mesh: MeshClient,
    raw: RawProducer,
    ghost_tasks: TopicTap,
    responses: TopicTap,
) -> None:
    """An answer put on dev's topic by anyone but the orchestrator, for dev, is skipped by
    dev's client: the real one still answers the request."""
    request = ghost_request(mesh, 1, timeout_ms=30_000)
    rid = request.requestid
    future = await mesh.submit(request)
    [task] = await ghost_tasks_of(ghost_tasks, rid, 1)
    forged = RequestCompleted.create(
        data={"status": "ok", "answer": "forged", "planner": "explicit", "elapsed_ms": 1.0},
        source="/slmesh/orchestrator/orchestrator-1",
        request_id=rid,
        causation_id=request.id,
    )
    value = encode(forged)
    topic = responses.topic
    headers = {
        "unsigned": None,
        "another-caller": prove_as(OTHER_CALLER, topic, value, key=rid, to=DEV_CALLER),
        # A proof the orchestrator made for `other` (say, copied from other's topic) proves
        # nothing to dev.
        "the-orchestrator-for-another-caller": prove_as(
            ORCHESTRATOR, topic, value, key=rid, to=OTHER_CALLER
        ),
    }[forger]
    await raw.send(topic, value, key=rid, headers=headers)
    await responses.wait_for(lambda r: r.value == value)
    await asyncio.sleep(QUIET_S)
    assert not future.done(), future.result().data.answer

    await reply_as_ghost(raw, task, {"n": 1})
    response = await asyncio.wait_for(future, WAIT_S)
    assert response.data.answer != "forged"
    assert response.data.status == "ok", response.data.answer


# --- what a caller may do ---------------------------------------------------------------


async def test_an_explicit_call_the_caller_may_not_make_is_refused(
    limited: MeshClient, limited_responses: TopicTap, raw: RawProducer
) -> None:
    request = new_request(
        limited,
        "summarize and VAT",
        calls=[
            {"micromodel": "vat-rates", "arguments": {"country": "DE"}},
            {"micromodel": "summarizer", "arguments": {"text": "Snow closed the pass."}},
        ],
    )
    response = await asyncio.wait_for(await limited.submit(request), WAIT_S)
    assert response.data.status == "failed"
    assert response.data.error is not None
    assert response.data.error.code == "forbidden_micromodel"
    assert "may not call summarizer" in response.data.error.message
    assert response.data.calls == []
    # A micromodel that does not exist is forbidden alike: the caller learns nothing of it.
    unknown = new_request(
        limited, "horoscope", calls=[{"micromodel": "horoscope", "arguments": {}}]
    )
    refused = await asyncio.wait_for(await limited.submit(unknown), WAIT_S)
    assert refused.data.error is not None
    assert refused.data.error.code == "forbidden_micromodel"
    # What it may call, it calls.
    allowed = await limited.ask("VAT rates in Austria", timeout_s=WAIT_S)
    assert allowed.data.status == "ok", allowed.data.answer
    await no_second_response(limited_responses, request.requestid)


async def test_a_planned_request_never_routes_to_a_micromodel_the_caller_may_not_call(
    limited: MeshClient, settings: MeshSettings
) -> None:
    """The planner sees only what the caller may call: a summary request is no plan for
    `limited`, where it is the summarizer's for any other caller."""
    summaries = TopicTap(settings, settings.task_topic("summarizer"))
    await summaries.start()
    try:
        # A deadline for a cold model on a busy machine: this is about where it routes.
        response = await limited.ask(
            "What is this story about: Heavy snow closed the mountain pass on Friday night.",
            timeout_s=120,
            timeout_ms=90_000,
        )
        assert all(c.micromodel in ("vat-rates", GHOST) for c in response.data.calls)
        if response.data.status == "failed":
            assert response.data.error is not None
            assert response.data.error.code in ("no_plan", "invalid_arguments")
        await settle(summaries)
        assert not summaries.matching(lambda r: response.requestid in (r.key_text or ""))
    finally:
        await summaries.stop()


async def test_a_callers_open_requests_are_capped_and_freed_when_answered(
    limited: MeshClient,
    raw: RawProducer,
    settings: MeshSettings,
    ghost_tasks: TopicTap,
    limited_responses: TopicTap,
) -> None:
    assert LIMITED_MAX_IN_FLIGHT == 2
    first = ghost_request(limited, 1, timeout_ms=30_000)
    second = ghost_request(limited, 1, timeout_ms=30_000)
    pending = [await limited.submit(first)]
    [first_task] = await ghost_tasks_of(ghost_tasks, first.requestid, 1, caller=LIMITED_CALLER)
    # Redelivered (the same proven bytes again): still one open request.
    value = encode(first)
    again = await raw.send(
        settings.requests_topic, value, key=first.requestid, proven_as=LIMITED_CALLER
    )
    await until_consumed(settings, REQUESTS_GROUP, again)
    pending.append(await limited.submit(second))
    [second_task] = await ghost_tasks_of(ghost_tasks, second.requestid, 1, caller=LIMITED_CALLER)

    # Two open: the third is refused, retryable, saying when to retry; no task goes out.
    third = new_request(limited, "VAT rates in Malta")
    refused = await asyncio.wait_for(await limited.submit(third), WAIT_S)
    assert refused.data.status == "failed"
    assert refused.data.error is not None
    assert refused.data.error.code == "too_many_requests"
    assert refused.data.error.retryable
    assert "retry after one of your 2 open requests is answered" in refused.data.error.message
    await no_second_response(limited_responses, third.requestid)

    # One answered: its slot is free, and the next request is taken.
    await reply_as_ghost(raw, first_task, {"n": 1})
    assert (await asyncio.wait_for(pending[0], WAIT_S)).data.status == "ok"
    taken = await limited.ask("VAT rates in Malta", timeout_s=WAIT_S)
    assert taken.data.status == "ok", taken.data.answer
    await reply_as_ghost(raw, second_task, {"n": 2})
    assert (await asyncio.wait_for(pending[1], WAIT_S)).data.status == "ok"


async def test_the_cap_is_the_callers_own(
    mesh: MeshClient, limited: MeshClient, raw: RawProducer, ghost_tasks: TopicTap
) -> None:
    """`limited` at its cap holds nobody else back."""
    held = [ghost_request(limited, 1, timeout_ms=30_000) for _ in range(LIMITED_MAX_IN_FLIGHT)]
    futures, tasks = [], []
    for request in held:
        futures.append(await limited.submit(request))
        tasks += await ghost_tasks_of(ghost_tasks, request.requestid, 1, caller=LIMITED_CALLER)
    over = await limited.ask("VAT rates in Cyprus", timeout_s=WAIT_S)
    assert over.data.error is not None
    assert over.data.error.code == "too_many_requests"
    answered = await mesh.ask("VAT rates in Cyprus", timeout_s=WAIT_S)
    assert answered.data.status == "ok", answered.data.answer
    for task in tasks:
        await reply_as_ghost(raw, task, {"done": True})
    await asyncio.wait_for(asyncio.gather(*futures), WAIT_S)


async def test_a_pipeline_with_a_step_the_caller_may_not_call_is_refused_and_the_next_served(
    limited: MeshClient,
) -> None:
    """`limited` may call vat-rates only: support-triage (classifier, summarizer) is not
    its to run, and an unknown pipeline's answer names only what it may run."""
    triage = new_request(limited, "You charged me twice", pipeline="support-triage")
    refused = await asyncio.wait_for(await limited.submit(triage), WAIT_S)
    assert refused.data.status == "failed"
    assert refused.data.error is not None
    assert refused.data.error.code == "forbidden_micromodel"
    assert "may not call classifier, summarizer, which pipeline 'support-triage'" in (
        refused.data.error.message
    )
    assert refused.data.calls == []

    unknown = new_request(limited, "x", pipeline="horoscope")
    answer = await asyncio.wait_for(await limited.submit(unknown), WAIT_S)
    assert answer.data.error is not None
    assert answer.data.error.code == "unknown_pipeline"
    assert answer.data.error.message.endswith("it runs for you: vat-compare")

    compare = new_request(limited, "x", pipeline="vat-compare", arguments={"countries": ["DE"]})
    served = await asyncio.wait_for(await limited.submit(compare), WAIT_S)
    assert served.data.status == "ok", served.data.answer
    assert [c.step for c in served.data.calls] == ["rates[0]"]
