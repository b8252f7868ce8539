"""One trace per request, across every process and hop.

`setup` turns export on for a service process when OTEL_EXPORTER_OTLP_ENDPOINT
is set; `messaging` opens the spans of a Kafka hop and carries their context
in record headers (W3C trace context); `genai` opens the span of a model call.
Unset, the OpenTelemetry API hands out non-recording spans: a producer's own
`traceparent` still passes through the mesh, and nothing is exported.
"""

from slmesh.runtime.tracing.genai import model_call, model_retry
from slmesh.runtime.tracing.messaging import (
    TRACEPARENT,
    consumed,
    current_traceparent,
    decided,
    envelope_traceparent,
    failed,
    headers_of,
    note,
    producing,
    resumed,
    step,
)
from slmesh.runtime.tracing.setup import configure_tracing, recording, shutdown_tracing, tracer

__all__ = [
    "TRACEPARENT",
    "configure_tracing",
    "consumed",
    "current_traceparent",
    "decided",
    "envelope_traceparent",
    "failed",
    "headers_of",
    "model_call",
    "model_retry",
    "note",
    "producing",
    "recording",
    "resumed",
    "shutdown_tracing",
    "step",
    "tracer",
]
