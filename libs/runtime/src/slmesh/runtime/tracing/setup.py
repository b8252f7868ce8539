"""Export on or off, per process: a tracer provider when an OTLP endpoint is set.

The standard OpenTelemetry variables decide, so a deployment sets tracing the
way it does for any other service: OTEL_EXPORTER_OTLP_ENDPOINT (or
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) turns export on, over OTLP/HTTP;
OTEL_BSP_SCHEDULE_DELAY and friends tune the batching; OTEL_RESOURCE_ATTRIBUTES
adds to the resource. Each service is its own `service.name` (`slmesh.<service>`)
and each replica its own `service.instance.id`, so Jaeger tells them apart.
"""

from __future__ import annotations

import logging
import os

from opentelemetry import trace
from opentelemetry.trace import Tracer

logger = logging.getLogger(__name__)

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
SERVICE_NAMESPACE = "slmesh"
# What the mesh's spans are made by (the instrumentation scope in Jaeger).
SCOPE = "slmesh"

_provider: object | None = None
# Whether spans are recorded: off, the hooks only pass a producer's trace
# context through, at the cost of reading one header (messaging).
_recording = False


def export_endpoint() -> str | None:
    for variable in ENDPOINT_VARIABLES:
        value = os.environ.get(variable, "").strip()
        if value:
            return value
    return None


def configure_tracing(service: str, replica: str) -> bool:
    """Export this process's spans when an endpoint is set; True when it will.

    Called once per process, first thing: spans opened before it are not exported.
    """
    global _provider, _recording
    endpoint = export_endpoint()
    if endpoint is None or _provider is not None:
        return _provider is not None
    # Imported only when exporting: a process that does not trace never loads
    # the SDK, the exporter or protobuf.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create(
        {
            "service.name": f"{SERVICE_NAMESPACE}.{service}",
            "service.namespace": SERVICE_NAMESPACE,
            "service.instance.id": replica,
        }
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _provider, _recording = provider, True
    logger.info("tracing: spans of %s (%s) go to %s over OTLP/HTTP", service, replica, endpoint)
    return True


def recording() -> bool:
    return _recording


def shutdown_tracing() -> None:
    """Send what is still batched; the process is about to end."""
    global _provider, _recording
    provider, _provider, _recording = _provider, None, False
    if provider is not None:
        # The SDK's provider: flushes its batch processor, then closes the exporter.
        provider.shutdown()  # type: ignore[attr-defined]


# A proxy: it starts making real spans once `configure_tracing` sets a provider.
_TRACER = trace.get_tracer(SCOPE)


def tracer() -> Tracer:
    return _TRACER
