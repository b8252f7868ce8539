"""The span of a model call, with the OpenTelemetry GenAI attributes.

`gen_ai.*` names follow the semantic conventions for generative AI; the
micromodel's name and version are the mesh's own (`slmesh.micromodel.*`).
Tokens are known only once the call returns: `model_call` yields a setter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind

from slmesh.runtime.tracing.setup import recording, tracer

GEN_AI_SYSTEM = "llama_cpp"

TokensSetter = Callable[[int, int], None]


def _not_recorded(prompt: int, completion: int) -> None:
    pass


@contextmanager
def model_call(
    model: str,
    *,
    operation: str = "text_completion",
    provider: str | None = None,
    step: str | None = None,
    micromodel: str | None = None,
    version: str | None = None,
) -> Iterator[TokensSetter]:
    """`<operation> <model>`: one model call (or a micromodel's calls for one task).

    `step`: what the call is for, where one model does several things (the
    orchestrator's `plan.route`, `plan.write_arguments`, `compose.opening`).
    `provider`: who runs a remote model (its endpoint's host, say); unset: llama.cpp here.
    """
    if not recording():
        yield _not_recorded
        return
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": operation,
        "gen_ai.system": provider or GEN_AI_SYSTEM,
        "gen_ai.provider.name": provider or GEN_AI_SYSTEM,
        "gen_ai.request.model": model,
    }
    if micromodel is not None:
        attributes["slmesh.micromodel.name"] = micromodel
    if version is not None:
        attributes["slmesh.micromodel.version"] = version
    if step is not None:
        attributes["slmesh.step"] = step
    with tracer().start_as_current_span(
        f"{operation} {model}", kind=SpanKind.CLIENT, attributes=attributes
    ) as span:

        def tokens(prompt: int, completion: int) -> None:
            if span.is_recording():
                span.set_attribute("gen_ai.usage.input_tokens", prompt)
                span.set_attribute("gen_ai.usage.output_tokens", completion)
                span.set_attribute("gen_ai.response.model", model)

        yield tokens


def model_retry(attempt: int, code: str, reason: str, delay_s: float) -> None:
    """A model call tried again (a remote endpoint that failed it): an event on the current
    span, the model call's, saying which attempt failed, why, and the wait before the next."""
    span = trace.get_current_span()
    if span.is_recording():
        span.add_event(
            "slmesh.model.retry",
            {
                "slmesh.attempt": attempt,
                "error.type": code,
                "slmesh.reason": reason[:300],
                "slmesh.retry_in_s": round(delay_s, 3),
            },
        )
