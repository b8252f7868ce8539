"""Trace context across a Kafka hop: a send span, the record's headers, the process span."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from slmesh.runtime.tracing import (
    consumed,
    current_traceparent,
    envelope_traceparent,
    headers_of,
    model_call,
    producing,
    setup,
)

CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"
CALLER = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"


def record(headers: Sequence[tuple[str, bytes]] = (), value: bytes = b"{}") -> Any:
    return SimpleNamespace(
        topic="slmesh.tasks.vat-rates",
        partition=2,
        offset=41,
        key=b"req-1",
        value=value,
        headers=list(headers),
    )


@pytest.fixture
def exported(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """Spans recorded in memory, for this test only (no global provider is set)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(setup, "_TRACER", provider.get_tracer("slmesh"))
    monkeypatch.setattr(setup, "_recording", True)
    yield exporter
    provider.shutdown()


def test_a_consumer_span_is_the_child_of_the_send_span_whose_headers_it_read(
    exported: InMemorySpanExporter,
) -> None:
    with producing("slmesh.tasks.vat-rates", "req-1") as headers:
        pass
    assert set(headers) == {"traceparent"}
    with consumed(record(headers_of(headers)), group="slmesh.micromodel.vat-rates"):
        pass
    sent, processed = exported.get_finished_spans()
    assert (sent.name, sent.kind) == ("send slmesh.tasks.vat-rates", SpanKind.PRODUCER)
    assert (processed.name, processed.kind) == ("process slmesh.tasks.vat-rates", SpanKind.CONSUMER)
    assert processed.parent is not None
    assert processed.parent.span_id == sent.context.span_id
    assert processed.context.trace_id == sent.context.trace_id
    attributes = dict(processed.attributes or {})
    assert attributes["messaging.system"] == "kafka"
    assert attributes["messaging.destination.partition.id"] == "2"
    assert attributes["messaging.kafka.offset"] == 41
    assert attributes["messaging.consumer.group.name"] == "slmesh.micromodel.vat-rates"


def test_a_producers_traceparent_is_continued_from_headers_or_from_the_event(
    exported: InMemorySpanExporter,
) -> None:
    with consumed(record([("traceparent", CALLER.encode())])):
        pass
    # No header: the CloudEvents attribute, read from the bytes.
    event = orjson.dumps({"traceparent": CALLER, "data": {}})
    traced = record(value=event)
    assert envelope_traceparent(traced) == CALLER
    with consumed(traced, traceparent=envelope_traceparent(traced)):
        pass
    for span in exported.get_finished_spans():
        assert span.parent is not None
        assert (format(span.context.trace_id, "032x"), format(span.parent.span_id, "016x")) == (
            CALLER_TRACE,
            CALLER_SPAN,
        )


OTHER = "00-11111111111111111111111111111111-2222222222222222-01"


def test_a_binary_mode_events_ce_traceparent_is_continued_and_a_w3c_header_comes_first(
    exported: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    attributes = [("ce_specversion", b"1.0"), ("ce_id", b"evt-1")]
    # Binary content mode: the attribute is a header; the value is only the data,
    # and is not read for it.
    traced = record(
        [*attributes, ("ce_traceparent", CALLER.encode())],
        value=orjson.dumps({"input": "hi", "traceparent": OTHER}),
    )
    assert envelope_traceparent(traced) == CALLER
    with consumed(traced, traceparent=envelope_traceparent(traced)):
        pass
    untraced = record(attributes, value=orjson.dumps({"traceparent": OTHER}))
    assert envelope_traceparent(untraced) is None
    # The hop's own W3C header, when there is one too, is the parent.
    both = record(
        [("traceparent", CALLER.encode()), ("ce_traceparent", OTHER.encode()), *attributes]
    )
    assert envelope_traceparent(both) == OTHER
    with consumed(both, traceparent=envelope_traceparent(both)):
        pass
    spans = exported.get_finished_spans()
    assert len(spans) == 2
    for span in spans:
        assert span.parent is not None
        assert (format(span.context.trace_id, "032x"), format(span.parent.span_id, "016x")) == (
            CALLER_TRACE,
            CALLER_SPAN,
        )
    # Not recording, the attribute passes through all the same.
    monkeypatch.setattr(setup, "_recording", False)
    with consumed(traced, traceparent=envelope_traceparent(traced)), producing("x") as passed:
        assert passed == {"traceparent": CALLER}


def test_without_trace_context_a_record_starts_a_trace_and_garbage_is_ignored(
    exported: InMemorySpanExporter,
) -> None:
    assert envelope_traceparent(record(value=b"\xff not json traceparent")) is None
    assert envelope_traceparent(record(value=b'{"traceparent": 7}')) is None
    with consumed(record([("traceparent", b"00-zz-not-a-trace")])):
        kept = current_traceparent()
    [span] = exported.get_finished_spans()
    assert span.parent is None
    assert kept is not None
    assert kept.split("-")[1] == format(span.context.trace_id, "032x")


def test_a_model_call_span_carries_the_genai_attributes(exported: InMemorySpanExporter) -> None:
    with model_call("gemma-3-270m", step="plan.route", micromodel="x", version="1.2") as spent:
        spent(120, 7)
    [span] = exported.get_finished_spans()
    assert span.name == "text_completion gemma-3-270m"
    assert span.kind == SpanKind.CLIENT
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.system"] == "llama_cpp"
    assert attributes["gen_ai.request.model"] == "gemma-3-270m"
    assert (attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]) == (
        120,
        7,
    )
    assert (attributes["slmesh.micromodel.name"], attributes["slmesh.micromodel.version"]) == (
        "x",
        "1.2",
    )
    assert attributes["slmesh.step"] == "plan.route"


def test_tracing_off_still_passes_a_producers_trace_through() -> None:
    """No provider (no endpoint set): nothing is recorded, and the caller's context travels on."""
    with producing("slmesh.requests") as headers:
        assert headers == {}
    with consumed(record()), producing("slmesh.tasks.vat-rates") as none:
        assert none == {}
    event = orjson.dumps({"traceparent": CALLER})
    with consumed(record(value=event), traceparent=CALLER), producing("x") as from_event:
        assert from_event == {"traceparent": CALLER}
    with (
        consumed(record([("traceparent", CALLER.encode())])),
        producing("slmesh.tasks.vat-rates") as passed,
    ):
        pass
    assert passed == {"traceparent": CALLER}
