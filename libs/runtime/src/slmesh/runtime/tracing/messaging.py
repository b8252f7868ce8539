"""The spans of a Kafka hop, and their context carried in record headers.

A hop is two spans in two processes: the producer's `send <topic>` span
(kind PRODUCER), whose context goes into the record's `traceparent` header
(and `tracestate`), and the consumer's `process <topic>` span (kind
CONSUMER), its child. A request that arrives with a `traceparent` of its own
(in a header, or the CloudEvents attribute: in the event, or its
`ce_traceparent` header in the binary content mode) continues that trace, so
an enterprise system's trace includes the mesh. The header comes first.

Spans are opened in the event loop's context (contextvars): a task created
inside a span, and every span opened under it, is its child, across awaits.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import extract, inject
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import INVALID_SPAN, Span, SpanKind, Status, StatusCode

from slmesh.runtime.tracing.setup import recording, tracer
from slmesh.schemas import is_binary

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
# The CloudEvents attribute as a binary content mode record carries it.
CE_TRACEPARENT = "ce_traceparent"
MESSAGING_SYSTEM = "kafka"

Headers = Sequence[tuple[str, bytes]]


class _HeaderGetter(Getter[Headers]):
    """Reads a trace header from a record's headers, as aiokafka hands them out."""

    def get(self, carrier: Headers, key: str) -> list[str] | None:
        values = [
            value.decode("latin-1")
            for name, value in carrier
            if name.lower() == key and isinstance(value, bytes | bytearray)
        ]
        return values or None

    def keys(self, carrier: Headers) -> list[str]:
        return [name for name, _ in carrier]


_GETTER = _HeaderGetter()


def _parent(headers: Headers | None, traceparent: str | None) -> otel_context.Context:
    """The context a record continues: its headers', else the event's own attribute."""
    ctx = extract(headers or (), getter=_GETTER)
    if trace.get_current_span(ctx).get_span_context().is_valid or not traceparent:
        return ctx
    carrier = {TRACEPARENT: traceparent}
    return extract(carrier)


def _header(headers: Headers | None, name: str) -> str | None:
    for key, value in headers or ():
        if key.lower() == name and isinstance(value, bytes | bytearray):
            return value.decode("latin-1")
    return None


@contextmanager
def _passed_through(traceparent: str | None, tracestate: str | None = None) -> Iterator[Span]:
    """Not recording: the caller's context, if any, becomes current as it is, so what
    is published meanwhile carries it on; no span of ours is made."""
    if traceparent is None:
        yield INVALID_SPAN
        return
    carrier = {TRACEPARENT: traceparent}
    if tracestate is not None:
        carrier[TRACESTATE] = tracestate
    token = otel_context.attach(extract(carrier))
    try:
        yield trace.get_current_span()
    finally:
        otel_context.detach(token)


@contextmanager
def consumed(
    record: Any,
    *,
    group: str | None = None,
    traceparent: str | None = None,
) -> Iterator[Span]:
    """`process <topic>`: the handling of one record, the child of the span that sent it."""
    if not recording():
        headers = getattr(record, "headers", None)
        found = _header(headers, TRACEPARENT)
        with _passed_through(
            found or traceparent, _header(headers, TRACESTATE) if found else None
        ) as span:
            yield span
        return
    topic = str(record.topic)
    attributes: dict[str, Any] = {
        "messaging.system": MESSAGING_SYSTEM,
        "messaging.operation.type": "process",
        "messaging.destination.name": topic,
        "messaging.destination.partition.id": str(getattr(record, "partition", "")),
        "messaging.kafka.offset": int(getattr(record, "offset", -1)),
    }
    if group is not None:
        attributes["messaging.consumer.group.name"] = group
    key = getattr(record, "key", None)
    if isinstance(key, bytes | bytearray):
        attributes["messaging.kafka.message.key"] = key.decode("utf-8", "replace")
    with tracer().start_as_current_span(
        f"process {topic}",
        context=_parent(getattr(record, "headers", None), traceparent),
        kind=SpanKind.CONSUMER,
        attributes=attributes,
    ) as span:
        yield span


@contextmanager
def producing(topic: str, key: str | None = None) -> Iterator[dict[str, str]]:
    """`send <topic>`: yields the trace headers to publish with, naming this span."""
    if not recording():
        # A context passed through, or none: no span of ours to name.
        passed: dict[str, str] = {}
        if trace.get_current_span().get_span_context().is_valid:
            inject(passed)
        yield passed
        return
    attributes: dict[str, Any] = {
        "messaging.system": MESSAGING_SYSTEM,
        "messaging.operation.type": "send",
        "messaging.destination.name": topic,
    }
    if key is not None:
        attributes["messaging.kafka.message.key"] = key
    with tracer().start_as_current_span(
        f"send {topic}", kind=SpanKind.PRODUCER, attributes=attributes
    ):
        headers: dict[str, str] = {}
        inject(headers)
        yield headers


@contextmanager
def resumed(traceparent: str | None, name: str, **attributes: Any) -> Iterator[Span]:
    """A span in a request's trace opened with no record to continue (a deadline passed):
    the child of the context kept with the request's state."""
    if not recording():
        with _passed_through(traceparent) as passed:
            yield passed
        return
    ctx = extract({TRACEPARENT: traceparent}) if traceparent else otel_context.Context()
    with tracer().start_as_current_span(name, context=ctx, attributes=attributes) as span:
        yield span


def envelope_traceparent(record: Any) -> str | None:
    """The CloudEvents `traceparent` attribute of a record's event, if it has one.

    In the binary content mode it is the `ce_traceparent` header (the record
    value is only the event's data). In the structured mode the value is
    parsed only when its bytes name it: most producers put trace context in
    headers, or send none. A W3C `traceparent` header, when there is one too,
    still comes first (`consumed`).
    """
    headers = getattr(record, "headers", None)
    if is_binary(headers):
        return _header(headers, CE_TRACEPARENT)
    value = getattr(record, "value", None)
    if not value or b'"traceparent"' not in value:
        return None
    try:
        event = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    found = event.get("traceparent") if isinstance(event, dict) else None
    return found if isinstance(found, str) else None


@contextmanager
def step(name: str) -> Iterator[Span]:
    """An internal span under the current one: a step of the handling (planning, composing)."""
    if not recording():
        yield INVALID_SPAN
        return
    with tracer().start_as_current_span(name) as span:
        yield span


def current_traceparent() -> str | None:
    """The current span's W3C `traceparent`, to keep with a request's state."""
    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier.get(TRACEPARENT)


def note(**attributes: Any) -> None:
    """Attributes on the current span (a request id, once the record is decoded)."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes({f"slmesh.{name}": value for name, value in attributes.items()})


def decided(name: str, **attributes: str | int | None) -> None:
    """An event on the current span: a decision of the handling (where a call's data
    went). Attributes that are None are left out."""
    span = trace.get_current_span()
    if span.is_recording():
        span.add_event(
            name, {f"slmesh.{key}": value for key, value in attributes.items() if value is not None}
        )


def failed(code: str, message: str) -> None:
    """Mark the current span failed, with the mesh's error code."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_status(Status(StatusCode.ERROR, f"{code}: {message}"[:500]))
        span.set_attribute("error.type", code)


def headers_of(mapping: Mapping[str, str]) -> list[tuple[str, bytes]]:
    """Trace headers as aiokafka takes them."""
    return [(name, value.encode("latin-1")) for name, value in mapping.items()]
