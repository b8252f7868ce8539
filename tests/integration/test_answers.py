"""Requests the rules planner answers: one call, a few calls, all 27 countries, a reply topic."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from slmesh.runtime.client import MeshClient
from slmesh.runtime.kafka import ensure_topics, list_topics
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import RequestCompleted, encode
from tests.support.identities import DEV_CALLER
from tests.support.kit import (
    WAIT_S,
    RawProducer,
    TopicTap,
    new_request,
    no_second_response,
    settle,
)

EU_27 = {
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
}  # fmt: skip


def country_rates(response: RequestCompleted) -> dict[str, dict[str, object]]:
    """Asked country -> the rates its call returned, checking each call answered it."""
    found: dict[str, dict[str, object]] = {}
    for call in response.data.calls:
        assert call.micromodel == "vat-rates"
        assert call.status == "ok", call
        assert call.output is not None
        assert call.model == "deterministic"
        rates = call.output["rates"]
        assert isinstance(rates, list)
        assert len(rates) == 1
        entry = rates[0]
        assert isinstance(entry, dict)
        assert entry["country"] == call.arguments["country"]
        found[str(entry["country"])] = dict(entry)
    return found


async def test_a_single_call_answers_with_the_german_rates(
    mesh: MeshClient, responses: TopicTap
) -> None:
    response = await mesh.ask("What is the VAT rate in Germany?", timeout_s=WAIT_S)

    data = response.data
    assert data.status == "ok", data.answer
    assert data.error is None
    assert data.planner == "rules"
    # The session's orchestrator composes with its model (SLMESH_COMPOSER=model), but a
    # request whose calls are all deterministic has no model on its path.
    assert data.composer == "template"
    assert data.planning is None
    assert data.composing is None
    assert [(c.micromodel, c.arguments) for c in data.calls] == [("vat-rates", {"country": "DE"})]
    assert country_rates(response)["DE"]["standard"] == 19
    assert "Germany (DE): standard 19%" in data.answer
    assert response.source.startswith("/slmesh/orchestrator/orchestrator-")
    await no_second_response(responses, response.requestid)


async def test_three_countries_become_three_calls_in_one_answer(mesh: MeshClient) -> None:
    response = await mesh.ask(
        "VAT rates in Germany, France and Italy",
        timeout_s=WAIT_S,
        metadata={"tenant": "acme", "ticket": "T-42"},
    )

    data = response.data
    assert data.status == "ok", data.answer
    assert [c.arguments["country"] for c in data.calls] == ["DE", "FR", "IT"]
    rates = country_rates(response)
    assert (rates["DE"]["standard"], rates["FR"]["standard"], rates["IT"]["standard"]) == (
        19,
        20,
        22,
    )
    for line in (
        "Germany (DE): standard 19%",
        "France (FR): standard 20%",
        "Italy (IT): standard 22%",
    ):
        assert line in data.answer
    assert len({c.task_id for c in data.calls}) == 3
    assert data.metadata == {"tenant": "acme", "ticket": "T-42"}


async def test_all_eu_countries_fan_out_to_27_calls(mesh: MeshClient) -> None:
    response = await mesh.ask("VAT rates in all EU countries", timeout_s=WAIT_S)

    data = response.data
    assert data.status == "ok", data.answer
    assert len(data.calls) == 27
    assert set(country_rates(response)) == EU_27
    # One quoted line per country, after the composer model's opening when it
    # was written in time (it is best effort: bounded wait, skipped when busy).
    lines = data.answer.splitlines()
    if data.composer != "template":
        opening, *lines = lines
        assert opening.startswith("Here")
        assert not any(ch.isdigit() for ch in opening)
    assert len(lines) == 27
    assert "Germany (DE): standard 19%" in data.answer
    assert "Sweden (SE): standard 25%" in data.answer


async def test_a_request_naming_its_own_response_topic_is_answered_there(
    mesh: MeshClient, raw: RawProducer, settings: MeshSettings, responses: TopicTap
) -> None:
    request = new_request(
        mesh, "VAT in France?", reply_topic=mesh.responses_topic, metadata={"erp": "1"}
    )
    future = mesh.expect(request.requestid)
    await raw.send(
        settings.requests_topic, encode(request), key=request.requestid, proven_as=DEV_CALLER
    )
    response = await asyncio.wait_for(future, WAIT_S)
    assert response.requestid == request.requestid
    assert response.causationid == request.id
    assert response.data.status == "ok", response.data.answer
    assert response.data.metadata == {"erp": "1"}
    assert "France (FR): standard 20%" in response.data.answer
    await no_second_response(responses, request.requestid)


@pytest.mark.parametrize("topic_exists", [False, True], ids=["new-topic", "existing-topic"])
async def test_a_request_naming_another_reply_topic_is_refused_on_its_own(
    topic_exists: bool,
    mesh: MeshClient,
    raw: RawProducer,
    settings: MeshSettings,
    responses: TopicTap,
) -> None:
    """The mesh writes to no topic but its caller's own: another one named is refused before
    any work, on the caller's own topic, and nothing is written (or made) there."""
    topic = f"it.erp-responses.{uuid.uuid4().hex[:8]}"
    if topic_exists:
        await ensure_topics(settings, [topic])
    request = new_request(mesh, "VAT in France?", reply_topic=topic)
    future = mesh.expect(request.requestid)
    await raw.send(
        settings.requests_topic, encode(request), key=request.requestid, proven_as=DEV_CALLER
    )
    response = await asyncio.wait_for(future, WAIT_S)
    assert response.data.status == "failed"
    assert response.data.error is not None
    assert response.data.error.code == "forbidden_reply_topic"
    assert topic in response.data.error.message
    assert mesh.responses_topic in response.data.error.message
    assert response.data.calls == []
    await no_second_response(responses, request.requestid)
    if topic_exists:
        tap = TopicTap(settings, topic)
        await tap.start(from_beginning=True)
        try:
            await settle(tap)
            assert tap.records == []
        finally:
            await tap.stop()
    else:
        assert topic not in await list_topics(settings)
