"""One request, one trace: what the services export over OTLP, received and checked here.

A mesh of its own (the services read OTEL_EXPORTER_OTLP_ENDPOINT when they
start) exports to a receiver inside the suite. A request that fans out and
needs a second round must come back as exactly one trace, continuing the
trace context its producer sent, with spans from the orchestrator and two
micromodels linked parent to child across the Kafka hops.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator

import pytest

from slmesh.cli.devstack import DEFAULT_MICROMODELS, DevStack
from slmesh.cli.embedded_redis import RedisHandle
from slmesh.runtime.client import MeshClient
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import encode

from .conftest import logged_mesh
from .otlp_receiver import OtlpReceiver, ReceivedSpan

pytestmark = pytest.mark.integration

INVOICE = (
    "Invoice 2291 from Müller GmbH, Hauptstraße 5, 10115 Berlin, Germany. "
    "Amount: 1,200.00 EUR net, payable within 30 days."
)
# Round 1: two vat-rates calls and the extractor; round 2: vat-rates on what it extracted.
CHAINED_FAN_OUT = (
    "Give me the VAT rates in France and Italy, then extract the country from this invoice "
    f"and give me the VAT rates for it: {INVOICE}"
)


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
async def traced(
    receiver: OtlpReceiver,
    redis_server: RedisHandle,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[DevStack]:
    micromodels = {name: DEFAULT_MICROMODELS[name] for name in ("vat-rates", "extractor")}
    async with logged_mesh(
        tmp_path_factory,
        "traced",
        redis_server,
        micromodels=micromodels,
        env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            # Batches go out every 100 ms instead of 5 s: the test waits less.
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "SLMESH_DEFAULT_TIMEOUT_MS": "120000",
        },
    ) as stack:
        yield stack


async def settled_trace(
    receiver: OtlpReceiver, trace_id: str, done: str, timeout_s: float = 60
) -> list[ReceivedSpan]:
    """The trace's spans once the span named `done` is in and nothing new came for a second."""
    async with asyncio.timeout(timeout_s):
        seen = -1
        while True:
            spans = receiver.trace(trace_id)
            if any(s.name == done for s in spans) and len(spans) == seen:
                return spans
            seen = len(spans)
            await asyncio.sleep(1.0)


def children(spans: list[ReceivedSpan], parent: ReceivedSpan) -> list[ReceivedSpan]:
    return [s for s in spans if s.parent_id == parent.span_id]


def parent_of(spans: list[ReceivedSpan], span: ReceivedSpan) -> ReceivedSpan:
    found = [s for s in spans if s.span_id == span.parent_id]
    assert len(found) == 1, f"{span.name} ({span.service}) has no parent in the trace"
    return found[0]


def ancestors(spans: list[ReceivedSpan], span: ReceivedSpan) -> list[ReceivedSpan]:
    by_id = {s.span_id: s for s in spans}
    chain = []
    while span.parent_id in by_id:
        span = by_id[span.parent_id]
        chain.append(span)
    return chain


async def test_a_request_is_one_trace_across_processes_with_its_fan_out_and_second_round(
    traced: DevStack, receiver: OtlpReceiver
) -> None:
    settings: MeshSettings = traced.settings()
    # The enterprise system's own trace: the mesh continues it.
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    traceparent = f"00-{trace_id}-{caller_span}-01"
    async with MeshClient(settings, source="/slmesh/integration-tests/tracing") as client:
        request = client.request(CHAINED_FAN_OUT, timeout_ms=110_000)
        rid = request.requestid
        pending = client.expect(rid)
        await client.send_raw(
            encode(request),
            key=rid,
            headers=[("traceparent", traceparent.encode())],
        )
        response = await asyncio.wait_for(pending, 150)
    data = response.data
    assert data.status == "ok", data.answer
    assert data.steps == 2, data.plan
    called = [c.micromodel for c in data.calls]
    assert called.count("extractor") == 1
    # Two in round 1; round 2 asks for the country the extractor found (and the
    # follow-up planner may ask again for those the first round named).
    vat_calls = called.count("vat-rates")
    assert vat_calls >= 3, called

    spans = await settled_trace(receiver, trace_id, f"send {settings.responses_topic}")
    # Exactly one trace: every span about this request is in the caller's.
    assert receiver.traces_of(rid) == {trace_id}
    services = {s.service for s in spans}
    assert {"slmesh.orchestrator", "slmesh.vat-rates", "slmesh.extractor"} <= services

    # The root of the mesh's part is the request's consumption, the caller's child.
    [root] = [s for s in spans if s.name == f"process {settings.requests_topic}"]
    assert root.parent_id == caller_span
    assert root.kind == "consumer"
    assert root.service == "slmesh.orchestrator"
    assert root.attributes["slmesh.request_id"] == rid
    # Every other span hangs under it.
    for span in spans:
        if span is not root:
            assert root in ancestors(spans, span), f"{span.name} ({span.service}) is detached"

    # Each task: sent by the orchestrator, processed by the micromodel as its child.
    task_topic = settings.task_topic("vat-rates")
    processed = [s for s in spans if s.name == f"process {task_topic}"]
    assert len(processed) == vat_calls
    for span in processed:
        sent = parent_of(spans, span)
        assert (sent.name, sent.kind, sent.service) == (
            f"send {task_topic}",
            "producer",
            "slmesh.orchestrator",
        )
        assert span.service == "slmesh.vat-rates"
        assert span.attributes["slmesh.micromodel"] == "vat-rates"
        # Its reply: sent from the micromodel, gathered by the orchestrator as its child.
        [reply_sent] = [c for c in children(spans, span) if c.name.startswith("send ")]
        assert reply_sent.name == f"send {settings.replies_topic}"
        [gathered] = children(spans, reply_sent)
        assert (gathered.name, gathered.service) == (
            f"process {settings.replies_topic}",
            "slmesh.orchestrator",
        )
        assert gathered.attributes["slmesh.task_id"] == span.attributes["slmesh.task_id"]

    # The fan-out: round 1's tasks were sent side by side from the request's handling.
    round_one = [s for s in spans if s.name == f"send {task_topic}" and s.parent_id == root.span_id]
    assert len(round_one) == 2

    # The extractor's model call, with the GenAI attributes and the micromodel's identity.
    [extracted] = [s for s in spans if s.name == f"process {settings.task_topic('extractor')}"]
    [model_call] = [c for c in children(spans, extracted) if c.kind == "client"]
    assert model_call.service == "slmesh.extractor"
    assert model_call.attributes["gen_ai.system"] == "llama_cpp"
    assert model_call.attributes["gen_ai.request.model"]
    assert model_call.attributes["gen_ai.usage.input_tokens"] > 0
    assert model_call.attributes["gen_ai.usage.output_tokens"] > 0
    assert model_call.attributes["slmesh.micromodel.name"] == "extractor"
    assert model_call.attributes["slmesh.micromodel.version"]

    # The second round was planned on the extractor's reply, and its task sent from there.
    [round_two] = [s for s in spans if s.name == "plan round 2"]
    gathered_extraction = parent_of(spans, round_two)
    assert gathered_extraction.name == f"process {settings.replies_topic}"
    assert parent_of(spans, parent_of(spans, gathered_extraction)) == extracted
    later = [
        s
        for s in spans
        if s.name == f"send {task_topic}" and gathered_extraction in ancestors(spans, s)
    ]
    assert len(later) == vat_calls - 2

    # Rules planned it all: planning is a span with no model call under it.
    [planning] = [s for s in spans if s.name == "plan"]
    assert planning.parent_id == root.span_id
    assert planning.attributes["slmesh.planner"] == "rules"

    # The answer: composed and published by whoever gathered the last reply.
    [response_sent] = [s for s in spans if s.name == f"send {settings.responses_topic}"]
    assert response_sent.service == "slmesh.orchestrator"
    last_gathered = parent_of(spans, response_sent)
    assert last_gathered.name == f"process {settings.replies_topic}"
    assert [c.name for c in children(spans, last_gathered) if c.name == "compose"] == ["compose"]


async def test_a_request_without_trace_context_starts_its_own_trace(
    traced: DevStack, receiver: OtlpReceiver
) -> None:
    settings = traced.settings()
    async with MeshClient(settings, source="/slmesh/integration-tests/tracing") as client:
        response = await client.ask("VAT rates in Germany?", timeout_s=60)
    rid = response.requestid
    assert response.data.status == "ok"
    for _ in range(60):
        if receiver.traces_of(rid):
            break
        await asyncio.sleep(0.5)
    [trace_id] = receiver.traces_of(rid)
    spans = await settled_trace(receiver, trace_id, f"send {settings.responses_topic}")
    [root] = [s for s in spans if not s.parent_id]
    assert root.name == f"process {settings.requests_topic}"
    assert {s.service for s in spans} == {"slmesh.orchestrator", "slmesh.vat-rates"}


async def test_the_planners_model_calls_are_spans_of_their_own(
    traced: DevStack, receiver: OtlpReceiver
) -> None:
    """A clause no rule recognises is routed by the planner's model: a span with its tokens."""
    settings = traced.settings()
    async with MeshClient(settings, source="/slmesh/integration-tests/tracing") as client:
        response = await client.ask(
            "Which team should look at this complaint: the parcel arrived crushed and the "
            "customer wants her money back before the weekend.",
            timeout_s=120,
        )
    rid = response.requestid
    for _ in range(60):
        if receiver.traces_of(rid):
            break
        await asyncio.sleep(0.5)
    [trace_id] = receiver.traces_of(rid)
    spans = await settled_trace(receiver, trace_id, f"send {settings.responses_topic}")
    [planning] = [s for s in spans if s.name == "plan"]
    routed = [s for s in children(spans, planning) if s.kind == "client"]
    assert routed, [s.name for s in spans]
    for call in routed:
        assert call.service == "slmesh.orchestrator"
        assert call.attributes["slmesh.step"] in {"plan.route", "plan.write_arguments"}
        assert call.attributes["gen_ai.usage.input_tokens"] > 0
        assert call.name == f"text_completion {call.attributes['gen_ai.request.model']}"
