"""What an operator sees of the mesh: traces, JSON logs, metrics, health, on a mesh of its own.

The services read OTEL_EXPORTER_OTLP_ENDPOINT, SLMESH_LOG_FORMAT and
SLMESH_HTTP_PORT when they start, so this module runs a mesh of its own that
exports to a receiver inside the suite, logs JSON, and serves its probes.
A request that fans out and needs a second round must come back as exactly
one trace, continuing the trace context its producer sent, with spans from
the orchestrator and two micromodels linked parent to child across the Kafka
hops.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from slmesh.cli.devstack import DEFAULT_MICROMODELS, DevStack, RedisHandle
from slmesh.runtime.client import MeshClient
from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.trust import response_topic
from slmesh.schemas import TaskRequested, encode
from tests.support.identities import DEV_CALLER
from tests.support.kit import RawProducer, mesh_id, send_task
from tests.support.mesh import logged_mesh
from tests.support.otlp_receiver import OtlpReceiver, ReceivedSpan
from tests.support.proofs import STRUCTURED

INVOICE = (
    "Invoice 2291 from Müller GmbH, Hauptstraße 5, 10115 Berlin, Germany. "
    "Amount: 1,200.00 EUR net, payable within 30 days."
)
# Round 1: two vat-rates calls and the extractor; round 2: vat-rates on what it extracted.
CHAINED_FAN_OUT = (
    "Give me the VAT rates in France and Italy, then extract the country from this invoice "
    f"and give me the VAT rates for it: {INVOICE}"
)


def dev_responses(settings: MeshSettings) -> str:
    """Where the dev caller, as which the tests' client asks, is answered."""
    return response_topic(settings.responses_topic, DEV_CALLER)


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
            "SLMESH_LOG_FORMAT": "json",
            # Each service on a free port of its own, said in its log.
            "SLMESH_HTTP_PORT": "0",
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


async def only_trace_of(receiver: OtlpReceiver, rid: str) -> str:
    """The one trace the dev caller's request `rid`'s spans are in, once some have come (they
    name it by the mesh's id, `dev:<rid>`)."""
    for _ in range(60):
        if receiver.traces_of(mesh_id(rid)):
            break
        await asyncio.sleep(0.5)
    [trace_id] = receiver.traces_of(mesh_id(rid))
    return trace_id


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

    spans = await settled_trace(receiver, trace_id, f"send {dev_responses(settings)}")
    # Exactly one trace: every span about this request is in the caller's.
    assert receiver.traces_of(mesh_id(rid)) == {trace_id}
    services = {s.service for s in spans}
    assert {"slmesh.orchestrator", "slmesh.vat-rates", "slmesh.extractor"} <= services

    # The root of the mesh's part is the request's consumption, the caller's child.
    [root] = [s for s in spans if s.name == f"process {settings.requests_topic}"]
    assert root.parent_id == caller_span
    assert root.kind == "consumer"
    assert root.service == "slmesh.orchestrator"
    assert root.attributes["slmesh.request_id"] == mesh_id(rid)
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
    # The tokens the span counts are the call's own, as the response reports them (the
    # extractor chooses among the document's spans: a clear-cut invoice may need none).
    [extractor_call] = [c for c in data.calls if c.micromodel == "extractor"]
    reported = extractor_call.tokens
    assert model_call.attributes["gen_ai.usage.input_tokens"] == (
        reported.prompt if reported else 0
    )
    assert model_call.attributes["gen_ai.usage.output_tokens"] == (
        reported.completion if reported else 0
    )
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
    [response_sent] = [s for s in spans if s.name == f"send {dev_responses(settings)}"]
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
    trace_id = await only_trace_of(receiver, rid)
    spans = await settled_trace(receiver, trace_id, f"send {dev_responses(settings)}")
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
    trace_id = await only_trace_of(receiver, rid)
    spans = await settled_trace(receiver, trace_id, f"send {dev_responses(settings)}")
    [planning] = [s for s in spans if s.name == "plan"]
    routed = [s for s in children(spans, planning) if s.kind == "client"]
    assert routed, [s.name for s in spans]
    for call in routed:
        assert call.service == "slmesh.orchestrator"
        assert call.attributes["slmesh.step"] in {"plan.route", "plan.write_arguments"}
        assert call.attributes["gen_ai.usage.input_tokens"] > 0
        assert call.name == f"text_completion {call.attributes['gen_ai.request.model']}"


# --- logs, metrics, health ----------------------------------------------------------------

SERVED_ON = re.compile(r"health and metrics on http://[^:]+:(\d+)")


def json_lines(stack: DevStack, service: str) -> list[dict[str, object]]:
    [process] = [s for s in stack.services if s.name == service]
    lines = []
    for line in process.recent_output():
        try:
            parsed = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(parsed, dict):
            lines.append(parsed)
    return lines


def port_of(stack: DevStack, service: str) -> int:
    for line in json_lines(stack, service):
        found = SERVED_ON.search(str(line.get("message", "")))
        if found:
            return int(found.group(1))
    raise AssertionError(f"{service} says nowhere where it serves its probes")


async def http_get(port: int, path: str) -> tuple[int, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    await writer.drain()
    response = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode()


async def test_a_request_s_log_lines_carry_its_ids_and_its_trace(traced: DevStack) -> None:
    """JSON lines about a task name its request, itself and its trace: a line leads to Jaeger."""
    settings = traced.settings()
    trace_id = secrets.token_hex(16)
    rid = f"req-logs-{secrets.token_hex(6)}"
    # A task the micromodel must refuse (no such member state): it says so in its log.
    task = TaskRequested.create(
        data={
            "task_id": f"{rid}:1",
            "micromodel": "vat-rates",
            "arguments": {"country": "Atlantis"},
            "deadline": datetime.now(UTC) + timedelta(minutes=1),
            "reply_topic": settings.replies_topic,
        },
        source="/slmesh/integration-tests/logs",
        request_id=rid,
    )
    traceparent = ("traceparent", f"00-{trace_id}-{secrets.token_hex(8)}-01".encode())
    raw = RawProducer(settings)
    await raw.start()
    try:
        # Proven as the orchestrator proves a task: the micromodel reads no other (a
        # client's send_raw would prove it as its caller).
        await send_task(
            raw,
            settings,
            "vat-rates",
            encode(task),
            key=rid,
            headers=[*STRUCTURED, traceparent],
        )
    finally:
        await raw.stop()
    about: list[dict[str, object]] = []
    for _ in range(60):
        about = [
            line for line in json_lines(traced, "vat-rates-1") if line.get("request_id") == rid
        ]
        if about:
            break
        await asyncio.sleep(0.5)
    assert about, "vat-rates wrote no line about the task"
    for line in about:
        assert line["task_id"] == f"{rid}:1"
        assert line["micromodel"] == "vat-rates"
        assert line["trace_id"] == trace_id
        assert (line["service"], line["replica"]) == ("vat-rates", "vat-rates-1")
    assert any("invalid_arguments" in str(line["message"]) for line in about)


async def test_each_service_serves_metrics_liveness_and_readiness(traced: DevStack) -> None:
    settings = traced.settings()
    async with MeshClient(settings, source="/slmesh/integration-tests/metrics") as client:
        response = await client.ask("VAT rates in Germany, France and Italy?", timeout_s=60)
    assert response.data.status == "ok"
    for service in ("orchestrator-1", "vat-rates-1", "extractor-1"):
        port = port_of(traced, service)
        assert await http_get(port, "/livez") == (200, '{"ok":true,"failing":[]}\n'), service
        assert await http_get(port, "/readyz") == (200, '{"ok":true,"failing":[]}\n'), service

    status, vat = await http_get(port_of(traced, "vat-rates-1"), "/metrics")
    assert status == 200
    done = re.search(r'slmesh_tasks_total\{code="",micromodel="vat-rates",status="ok"\} (\d+)', vat)
    assert done is not None
    assert int(done.group(1)) >= 3
    assert 'slmesh_task_seconds_bucket{le="0.1",micromodel="vat-rates"}' in vat
    assert 'slmesh_consumer_lag{group="slmesh.micromodel.vat-rates"' in vat

    status, orchestrator = await http_get(port_of(traced, "orchestrator-1"), "/metrics")
    answered = re.search(r'slmesh_requests_total\{status="ok"\} (\d+)', orchestrator)
    assert answered is not None
    assert int(answered.group(1)) >= 1
    assert "slmesh_requests_in_flight 0.0" in orchestrator
    assert "slmesh_request_seconds_count" in orchestrator
    # The planner's model (the complaint routed above, in another test, or none yet).
    assert "# TYPE slmesh_model_tokens_total counter" in orchestrator
