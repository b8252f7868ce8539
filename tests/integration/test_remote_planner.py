"""The orchestrator's planner (and its composer) on a remote model, with real parts: a mesh
of this module's own whose orchestrators plan on the stand-in cloud (llama.cpp's
OpenAI-compatible server on this machine, its API key demanded) the requests it may read,
and on-premise (rules) the others and those it fails.

What the server received is read from its own record of each call: a request the remote
planner may not read never reaches it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from slmesh.cli.devstack import DevStack, RedisHandle
from slmesh.orchestrator.composer import ModelComposer
from slmesh.runtime.client import MeshClient
from slmesh.runtime.concurrency import Worker
from slmesh.runtime.llm.remote import RemoteModel, RemoteModelSettings
from slmesh.schemas import Classification, RequestCompleted
from tests.support.kit import WAIT_S, mesh_id
from tests.support.mesh import logged_mesh
from tests.support.otlp_receiver import OtlpReceiver

pytestmark = [pytest.mark.processes, pytest.mark.redis, pytest.mark.model]

PRICE = {
    "SLMESH_PLANNER_REMOTE__PRICE_INPUT_PER_MTOK": "3",
    "SLMESH_PLANNER_REMOTE__PRICE_OUTPUT_PER_MTOK": "15",
    # The stand-in plans in seconds, slower on a busy 2-core machine.
    "SLMESH_PLANNER_REMOTE__TIMEOUT_S": "60",
    "SLMESH_PLANNER_REMOTE__RETRIES": "1",
}


@pytest.fixture(scope="module")
async def planned_remotely(
    redis_server: RedisHandle, tmp_path_factory: pytest.TempPathFactory, receiver: OtlpReceiver
) -> AsyncIterator[DevStack]:
    async with logged_mesh(
        tmp_path_factory,
        "remote-planner",
        redis_server,
        micromodels={"vat-rates": "slmesh.vat_rates"},
        cloud_planner=True,
        env={
            "SLMESH_PLANNER": "rules",
            "SLMESH_HEARTBEAT_S": "1",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            **PRICE,
        },
    ) as stack:
        yield stack


@pytest.fixture(scope="module")
async def client(planned_remotely: DevStack) -> AsyncIterator[MeshClient]:
    async with MeshClient(planned_remotely.settings(), source="/slmesh/remote-planner") as mesh:
        # vat-rates' card read by the orchestrator: an explicit call is answered.
        for _ in range(60):
            response = await mesh.ask(
                "ready?",
                timeout_s=WAIT_S,
                calls=[{"micromodel": "vat-rates", "arguments": {"country": "DE"}}],
            )
            if response.data.status == "ok":
                break
            await asyncio.sleep(1)
        else:
            raise AssertionError(f"the mesh never answered: {response.data}")
        yield mesh


async def ask(mesh: MeshClient, text: str, classification: Classification) -> RequestCompleted:
    return await mesh.ask(
        text, timeout_s=WAIT_S + 120, timeout_ms=120_000, classification=classification
    )


def received(stack: DevStack, marker: str) -> list[dict[str, Any]]:
    """The calls the stand-in cloud received whose messages carry `marker`."""
    assert stack.stand_in is not None
    return [
        record
        for record in stack.stand_in.requests()
        if any(marker in str(m.get("content")) for m in record["body"].get("messages", []))
    ]


async def test_a_public_request_is_planned_by_the_remote_model_into_calls_the_mesh_runs(
    planned_remotely: DevStack, client: MeshClient
) -> None:
    marker = uuid.uuid4().hex[:8]
    response = await ask(client, f"What is the VAT rate in France? (ticket {marker})", "public")
    data = response.data
    stand_in = planned_remotely.stand_in
    assert stand_in is not None
    label = f"{stand_in.model_id}@127.0.0.1"
    assert data.planner == f"remote+{label}", data.plan
    # Its calls go to the live micromodel with arguments its schema admits: answered.
    assert data.calls, data.plan
    assert {call.micromodel for call in data.calls} == {"vat-rates"}
    assert all(call.status == "ok" for call in data.calls), data.calls
    # The planner's tokens, counted by the server, priced by the setting.
    assert data.planning is not None
    assert data.planning.model == label
    assert data.planning.tokens.prompt > 0
    assert data.cost is not None
    expected = (data.planning.tokens.prompt * 3 + data.planning.tokens.completion * 15) / 1e6
    assert data.cost.by_model[label] == pytest.approx(expected, rel=1e-6)

    # What the server got: the request, the card, and the plan's schema as its response
    # format (llama.cpp's json_object with a schema): only live micromodels can be named.
    [call] = received(planned_remotely, marker)
    body = call["body"]
    assert "vat-rates" in body["messages"][0]["content"]
    schema = body["response_format"]["schema"]
    variant = schema["properties"]["calls"]["items"]
    assert variant["properties"]["micromodel"]["enum"] == ["vat-rates"]
    assert call["status"] == 200


@pytest.mark.parametrize(
    ("classification", "extra", "raised"),
    [
        ("internal", "", "internal"),
        # Public as the caller says; the email address makes it confidential.
        ("public", " Reply to jane.roe@example.org please.", "confidential"),
    ],
    ids=["internal", "public-with-pii"],
)
async def test_a_request_the_remote_planner_may_not_read_never_reaches_it(
    planned_remotely: DevStack,
    client: MeshClient,
    classification: Classification,
    extra: str,
    raised: str,
) -> None:
    marker = uuid.uuid4().hex[:8]
    response = await ask(
        client, f"What is the VAT rate in Germany? (ticket {marker}){extra}", classification
    )
    data = response.data
    assert received(planned_remotely, marker) == []
    assert data.planner == "rules"
    assert data.classification == raised
    assert f"may not read this request ({raised}): planned on-premise" in data.plan[0]
    assert [call.arguments for call in data.calls] == [{"country": "DE"}]
    assert data.status == "ok"


async def test_while_the_remote_planner_is_down_requests_are_planned_on_premise(
    planned_remotely: DevStack, client: MeshClient
) -> None:
    stand_in = planned_remotely.stand_in
    assert stand_in is not None
    await stand_in.stop()
    try:
        response = await ask(client, "What is the VAT rate in Austria?", "public")
    finally:
        await stand_in.start()
    data = response.data
    assert data.status == "ok"
    assert data.planner == "rules"
    assert data.plan[0].startswith("the remote planner failed (remote model ")
    assert "could not connect" in data.plan[0]
    assert [call.arguments for call in data.calls] == [{"country": "AT"}]
    # Back: the next public request is planned remotely again.
    again = await ask(client, "What is the VAT rate in Spain?", "public")
    assert again.data.planner.startswith("remote+"), again.data.plan


async def test_the_composers_model_on_the_remote_endpoint_writes_an_opening(
    planned_remotely: DevStack,
) -> None:
    """The composer's model is a remote model too (SLMESH_COMPOSER_REMOTE__*): the same
    endpoint, asked for the opening sentence of a request it may read."""
    stand_in = planned_remotely.stand_in
    assert stand_in is not None
    settings = RemoteModelSettings.model_validate(
        {k.lower(): v for k, v in stand_in.remote_env("").items()} | {"timeout_s": 120}
    )
    model = RemoteModel(settings)
    composer = ModelComposer(model, Worker("composer-test"), queue=4)
    assert composer.placement.remote
    assert composer.placement.max_classification == "public"
    marker = uuid.uuid4().hex[:8]
    try:
        written = await composer.opening(f"Summarize the ferry timetable change {marker}.")
    finally:
        model.close()
    assert written is not None
    assert written.answer.endswith(".")
    assert written.work is not None
    assert written.work.tokens.prompt > 0
    [call] = received(planned_remotely, marker)
    assert call["status"] == 200


async def test_where_a_request_was_planned_is_on_its_trace_never_its_text(
    client: MeshClient, receiver: OtlpReceiver
) -> None:
    marker = uuid.uuid4().hex[:8]
    public = await ask(client, f"VAT rate in Portugal? (ticket {marker})", "public")
    internal = await ask(client, f"VAT rate in Poland? (ticket {marker})", "internal")

    def planned(request_id: str) -> list[dict[str, Any]]:
        traces = receiver.traces_of(request_id)
        return [
            attributes
            for span in receiver.spans
            if span.trace_id in traces
            for name, attributes in span.events
            if name == "slmesh.planning"
        ]

    ids = {"public": mesh_id(public.requestid), "internal": mesh_id(internal.requestid)}
    # The spans come in batches, every 100 ms.
    for _ in range(int(WAIT_S / 0.2)):
        if all(planned(request_id) for request_id in ids.values()):
            break
        await asyncio.sleep(0.2)
    [remote] = planned(ids["public"])
    assert remote["slmesh.planned"] == (
        "remote" if public.data.planner != "rules" else "on-premise"
    )
    assert remote["slmesh.classification"] == "public"
    assert remote["slmesh.remote_planner"].endswith("@127.0.0.1")
    [local] = planned(ids["internal"])
    assert local["slmesh.planned"] == "on-premise"
    assert local["slmesh.classification"] == "internal"
    exported = str([(s.name, s.attributes, s.events) for s in receiver.spans])
    assert marker not in exported
