"""Federated inference with real parts: where each call's data goes, by its classification
and where each micromodel runs; what the remote server received when a request carried
personal data; what a request cost.

A mesh of this module's own (its routing differs from the session's): vat-rates on-premise,
`vat-rates-cloud` (the same declaration placed remote, cleared for internal data, an
alternative for vat-rates), `rates-abroad` (remote, public data only, no alternative), the
summarizer on-premise, and three remote summarizers on the stand-in cloud (llama.cpp's
OpenAI-compatible server on this machine): `summarizer-cloud` (personal data goes local),
`summarizer-redacting` (it is sent redacted) and `summarizer-strict` (it is refused).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from slmesh.cli.devstack import DevStack, RedisHandle
from slmesh.runtime.client import MeshClient
from slmesh.runtime.registry.placement import CLASSIFICATIONS
from slmesh.schemas import CallOutcome, Classification, RequestCompleted
from tests.support.kit import WAIT_S
from tests.support.mesh import logged_mesh
from tests.support.otlp_receiver import OtlpReceiver

pytestmark = [pytest.mark.processes, pytest.mark.redis, pytest.mark.model]

CLOUD_PRICE = {
    "SLMESH_REMOTE__PRICE_INPUT_PER_MTOK": "2.5",
    "SLMESH_REMOTE__PRICE_OUTPUT_PER_MTOK": "10",
    "SLMESH_REMOTE__TIMEOUT_S": "20",
}
# Personal data of people who do not exist, in the forms the finder knows.
PERSON = "Johanna Brinkmann"
EMAIL = "johanna.brinkmann@example.org"
IBAN = "DE89 3704 0044 0532 0130 00"
PII = (PERSON, EMAIL, IBAN, "DE89370400440532013000", "johanna.brinkmann")


def complaint(marker: str) -> str:
    """A customer's message carrying personal data; `marker` finds it at the server."""
    return (
        f"Dear support team ({marker}), my name is {PERSON} and the refund for order 4471 "
        f"never arrived. Please send it to my account {IBAN} and confirm to {EMAIL}."
    )


@pytest.fixture(scope="module")
async def federated(
    redis_server: RedisHandle, tmp_path_factory: pytest.TempPathFactory, receiver: OtlpReceiver
) -> AsyncIterator[DevStack]:
    async with logged_mesh(
        tmp_path_factory,
        "federated",
        redis_server,
        micromodels={
            "vat-rates": "slmesh.vat_rates",
            "vat-rates-cloud": "slmesh.vat_rates",
            "rates-abroad": "slmesh.vat_rates",
            "summarizer": "slmesh.summarizer",
        },
        cloud_micromodels={
            "summarizer-cloud": "slmesh.summarizer",
            "summarizer-redacting": "slmesh.summarizer",
            "summarizer-strict": "slmesh.summarizer",
        },
        micromodel_env={
            "vat-rates-cloud": {
                "SLMESH_NAME": "vat-rates-cloud",
                "SLMESH_LOCALITY": "remote",
                "SLMESH_PROVIDER": "cloud.example",
                "SLMESH_MAX_CLASSIFICATION": "internal",
            },
            "rates-abroad": {
                "SLMESH_NAME": "rates-abroad",
                # An alternative for nothing: the only one serving its tool.
                "SLMESH_SERVES": "rates-abroad",
                "SLMESH_LOCALITY": "remote",
                "SLMESH_PROVIDER": "abroad.example",
            },
            "summarizer-cloud": CLOUD_PRICE,
            "summarizer-redacting": {**CLOUD_PRICE, "SLMESH_ON_PII": "redact"},
            "summarizer-strict": {**CLOUD_PRICE, "SLMESH_ON_PII": "refuse"},
        },
        # Each service's probes and metrics on a free port of its own, said in its log; its
        # spans to the suite's receiver, in batches every 100 ms.
        env={
            "SLMESH_PLANNER": "rules",
            "SLMESH_HEARTBEAT_S": "1",
            "SLMESH_HTTP_PORT": "0",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        },
    ) as mesh:
        yield mesh


@pytest.fixture(scope="module")
async def client(federated: DevStack) -> AsyncIterator[MeshClient]:
    async with MeshClient(federated.settings(), source="/slmesh/federated-tests") as mesh:
        # Every micromodel's card read by the orchestrator: each answers an explicit call.
        for _ in range(60):
            response = await ask(
                mesh,
                "public",
                ("vat-rates-cloud", {"country": "DE"}),
                ("rates-abroad", {"country": "DE"}),
                ("summarizer-cloud", {"text": "Snow closed the pass.", "max_words": 3}),
                ("summarizer-redacting", {"text": "Snow closed the pass.", "max_words": 3}),
                ("summarizer-strict", {"text": "Snow closed the pass.", "max_words": 3}),
                ("summarizer", {"text": "Snow closed the pass.", "max_words": 3}),
            )
            if response.data.status == "ok":
                break
            await asyncio.sleep(1)
        else:
            raise AssertionError(f"the federated mesh never answered: {response.data}")
        yield mesh


async def ask(
    mesh: MeshClient, classification: Classification, *calls: tuple[str, dict[str, Any]]
) -> RequestCompleted:
    return await mesh.ask(
        "federated",
        timeout_s=WAIT_S + 40,
        timeout_ms=40_000,
        classification=classification,
        calls=[{"micromodel": name, "arguments": arguments} for name, arguments in calls],
    )


def sent_to_cloud(federated: DevStack, marker: str) -> list[str]:
    """The message texts the stand-in cloud received that carry `marker`."""
    assert federated.stand_in is not None
    return [
        str(message.get("content"))
        for record in federated.stand_in.requests()
        for message in record["body"].get("messages", [])
        if marker in str(message.get("content"))
    ]


SERVED_ON = re.compile(r"health and metrics on http://[^:]+:(\d+)")


async def metrics_of(stack: DevStack, service: str) -> str:
    [port] = {
        int(found.group(1))
        for service_ in stack.services
        if service_.name == service
        for line in service_.recent_output()
        if (found := SERVED_ON.search(line))
    }
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    await writer.drain()
    response = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return response.partition(b"\r\n\r\n")[2].decode()


def routed(call: CallOutcome) -> tuple[str, str, str]:
    assert call.routing is not None, call
    return call.micromodel, call.routing.decision, call.routing.locality


@pytest.mark.parametrize("classification", CLASSIFICATIONS)
async def test_every_classification_goes_only_where_it_may(
    client: MeshClient, classification: Classification
) -> None:
    response = await ask(
        client,
        classification,
        ("vat-rates-cloud", {"country": "DE"}),
        ("vat-rates", {"country": "FR"}),
        ("rates-abroad", {"country": "IT"}),
    )
    cloud, local, abroad = response.data.calls
    for call in response.data.calls:
        assert call.routing is not None
        assert call.routing.classification == classification
        assert call.routing.pii == {}

    # Remote, cleared for internal data: public and internal go; the rest go to the
    # on-premise alternative.
    if classification in ("public", "internal"):
        assert routed(cloud) == ("vat-rates-cloud", "sent", "remote")
        assert cloud.routing is not None
        assert cloud.routing.provider == "cloud.example"
    else:
        assert routed(cloud) == ("vat-rates", "rerouted", "on-premise")
        assert cloud.routing is not None
        assert cloud.routing.requested == "vat-rates-cloud"
    assert cloud.status == "ok"
    assert cloud.output is not None
    assert "DE" in str(cloud.output)

    # On-premise: may receive anything.
    assert routed(local) == ("vat-rates", "sent", "on-premise")
    assert local.status == "ok"

    # Remote, public data only, and nothing else serves it.
    if classification == "public":
        assert routed(abroad) == ("rates-abroad", "sent", "remote")
        assert abroad.status == "ok"
        assert response.data.status == "ok"
    else:
        assert abroad.status == "failed"
        assert abroad.error is not None
        assert abroad.error.code == "classification_denied"
        assert f"a {classification} call to rates-abroad" in abroad.error.message
        assert "rates-abroad (remote at abroad.example, may receive up to public)" in (
            abroad.error.message
        )
        assert abroad.routing is not None
        assert abroad.routing.decision == "denied"
        assert response.data.status == "partial"
    assert response.data.classification == classification


async def test_a_planned_call_goes_to_the_remote_alternative_only_when_its_data_may_leave(
    client: MeshClient,
) -> None:
    public = await client.ask(
        "What are the VAT rates in Germany?", timeout_s=WAIT_S + 20, classification="public"
    )
    [call] = public.data.calls
    assert routed(call) == ("vat-rates-cloud", "rerouted", "remote")
    confidential = await client.ask(
        "What are the VAT rates in Germany?", timeout_s=WAIT_S + 20, classification="confidential"
    )
    [call] = confidential.data.calls
    assert routed(call) == ("vat-rates", "sent", "on-premise")


async def test_personal_data_bound_for_the_cloud_goes_to_the_local_model(
    client: MeshClient, federated: DevStack
) -> None:
    marker = "case-local-51"
    response = await ask(
        client, "public", ("summarizer-cloud", {"text": complaint(marker), "max_words": 12})
    )
    [call] = response.data.calls
    assert call.status == "ok", call
    assert routed(call) == ("summarizer", "rerouted", "on-premise")
    assert call.routing is not None
    assert {"email", "iban"} <= set(call.routing.pii)
    assert call.routing.classification == "restricted"
    assert sent_to_cloud(federated, marker) == []
    assert response.data.cost is not None
    assert response.data.cost.local_share == 1.0
    assert response.data.cost.remote_calls == 0


async def test_redacting_sends_the_cloud_no_personal_data(
    client: MeshClient, federated: DevStack
) -> None:
    marker = "case-redact-52"
    response = await ask(
        client, "public", ("summarizer-redacting", {"text": complaint(marker), "max_words": 12})
    )
    [call] = response.data.calls
    assert call.status == "ok", call
    assert routed(call) == ("summarizer-redacting", "redacted", "remote")
    assert call.routing is not None
    assert {"email", "iban"} <= set(call.routing.pii)
    # The arguments shown are those that went: redacted.
    assert EMAIL not in str(call.arguments)
    received = sent_to_cloud(federated, marker)
    assert len(received) == 1
    assert "[EMAIL]" in received[0]
    assert "[IBAN]" in received[0]
    for piece in PII:
        assert piece not in received[0]
    # Priced at its card's price: 2.5 and 10 per million tokens.
    assert call.tokens is not None
    expected = (call.tokens.prompt * 2.5 + call.tokens.completion * 10) / 1_000_000
    assert call.cost == pytest.approx(expected)
    assert response.data.cost is not None
    assert response.data.cost.total == pytest.approx(expected)
    assert response.data.cost.remote_calls == 1
    assert response.data.cost.local_share == 0.0
    # The orchestrator's metrics: cost by model and caller, remote calls by provider.
    metrics = await metrics_of(federated, "orchestrator-1")
    assert re.search(
        r'slmesh_cost_total\{caller="dev",currency="USD",model="[^"]+@127\.0\.0\.1"\} [0-9.e-]+',
        metrics,
    ), metrics
    assert 'slmesh_remote_calls_total{caller="dev",provider="127.0.0.1"}' in metrics


async def test_each_routing_decision_is_an_event_on_the_trace_and_the_trace_holds_no_pii(
    client: MeshClient, receiver: OtlpReceiver
) -> None:
    marker = "case-trace-53"
    response = await ask(
        client,
        "public",
        ("summarizer-redacting", {"text": complaint(marker), "max_words": 12}),
        ("summarizer-strict", {"text": complaint(marker), "max_words": 12}),
        ("vat-rates", {"country": "DE"}),
    )
    tasks = {call.task_id: call for call in response.data.calls}

    def decisions() -> dict[str, dict[str, Any]]:
        return {
            str(attributes.get("slmesh.task_id")): attributes
            for span in receiver.spans
            for name, attributes in span.events
            if name == "slmesh.routing" and attributes.get("slmesh.task_id") in tasks
        }

    # The spans come in batches, every 100 ms.
    for _ in range(int(WAIT_S / 0.2)):
        if len(decisions()) == len(tasks):
            break
        await asyncio.sleep(0.2)
    seen = decisions()
    assert len(seen) == len(tasks), seen
    by_micromodel = {tasks[task_id].micromodel: event for task_id, event in seen.items()}
    redacted = by_micromodel["summarizer-redacting"]
    assert redacted["slmesh.decision"] == "redacted"
    assert redacted["slmesh.locality"] == "remote"
    assert redacted["slmesh.provider"] == "127.0.0.1"
    assert "email:1" in redacted["slmesh.pii"]
    assert "iban:1" in redacted["slmesh.pii"]
    assert by_micromodel["summarizer-strict"]["slmesh.decision"] == "refused"
    local = by_micromodel["vat-rates"]
    assert (local["slmesh.decision"], local["slmesh.locality"]) == ("sent", "on-premise")
    assert "slmesh.pii" not in local
    # Nothing the trace holds, of any span of any service, quotes the personal data.
    exported = str([(s.name, s.attributes, s.events) for s in receiver.spans])
    for piece in PII:
        assert piece not in exported


async def test_refusing_fails_the_call_and_the_rest_of_the_request_arrives(
    client: MeshClient, federated: DevStack
) -> None:
    marker = "case-refuse-53"
    response = await ask(
        client,
        "public",
        ("summarizer-strict", {"text": complaint(marker), "max_words": 12}),
        ("vat-rates", {"country": "AT"}),
    )
    strict, vat = response.data.calls
    assert strict.status == "failed"
    assert strict.error is not None
    assert strict.error.code == "pii_refused"
    for piece in PII:
        assert piece not in strict.error.message
    assert vat.status == "ok"
    assert response.data.status == "partial"
    assert sent_to_cloud(federated, marker) == []


async def test_public_text_without_personal_data_goes_to_the_cloud_and_is_priced(
    client: MeshClient, federated: DevStack
) -> None:
    marker = "case-public-54"
    text = f"The city opened a new library ({marker}) with ten thousand books on Monday."
    response = await ask(
        client,
        "public",
        ("summarizer-cloud", {"text": text, "max_words": 8}),
        # Named: the on-premise one answers, though remote ones serve its tool.
        ("summarizer", {"text": text, "max_words": 8}),
    )
    cloud, local = response.data.calls
    assert cloud.status == "ok", cloud
    assert routed(cloud) == ("summarizer-cloud", "sent", "remote")
    assert routed(local) == ("summarizer", "sent", "on-premise")
    assert len(sent_to_cloud(federated, marker)) == 1
    assert cloud.cost is not None
    assert cloud.cost > 0
    assert local.cost == 0.0
    assert response.data.cost is not None
    assert response.data.cost.local_share == 0.5


async def test_no_personal_data_reaches_the_orchestrators_or_micromodels_logs(
    client: MeshClient, federated: DevStack
) -> None:
    marker = "case-logs-55"
    await ask(
        client,
        "public",
        ("summarizer-cloud", {"text": complaint(marker), "max_words": 12}),
        ("summarizer-redacting", {"text": complaint(marker), "max_words": 12}),
        ("summarizer-strict", {"text": complaint(marker), "max_words": 12}),
    )
    for service in federated.services:
        output = "\n".join(service.recent_output())
        for piece in PII:
            assert piece not in output, f"{service.name} logged personal data"
    # And the mesh goes on answering.
    after = await ask(client, "internal", ("vat-rates", {"country": "DE"}))
    assert after.data.status == "ok"
