"""The summarizer as a service: real llama.cpp inference behind the mesh."""

from __future__ import annotations

import sys

from slmesh.cli.devstack import ServiceProcess
from slmesh.runtime.client import MeshClient
from slmesh.runtime.service import MODEL_LOAD_FAILED
from tests.support.kit import WAIT_S

TEXT = (
    "Heavy snow closed the mountain pass on Friday night. Police turned back more than two "
    "hundred trucks, and the road authority expects to reopen one lane by Sunday noon."
)


async def test_a_summary_comes_back_with_model_and_token_counts(mesh: MeshClient) -> None:
    response = await mesh.ask(
        "summarize this",
        timeout_s=WAIT_S,
        # Inference on a shared 2-core machine: a budget well above its usual second.
        timeout_ms=20_000,
        calls=[{"micromodel": "summarizer", "arguments": {"text": TEXT, "max_words": 12}}],
    )
    assert response.data.status == "ok", response.data.answer
    call = response.data.calls[0]
    assert call.model == "gemma-3-270m-q4_k_m"
    assert call.tokens is not None
    assert call.tokens.prompt > 0
    assert call.tokens.completion > 0
    assert call.output is not None
    assert 0 < int(str(call.output["words"])) <= 12
    assert response.data.answer.startswith("Summary: ")


async def test_a_text_that_overflows_the_context_fails_that_call_clearly(
    mesh: MeshClient,
) -> None:
    # The stack's summarizer runs with a 1024-token context (conftest).
    long_text = " ".join(["The committee reviewed the quarterly figures in detail."] * 160)
    response = await mesh.ask(
        "summarize this",
        timeout_s=WAIT_S,
        calls=[
            {"micromodel": "summarizer", "arguments": {"text": long_text[:11_000]}},
            {"micromodel": "vat-rates", "arguments": {"country": "DE"}},
        ],
        timeout_ms=20_000,
    )
    assert response.data.status == "partial"
    failed = response.data.calls[0]
    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error.code == "context_overflow"
    assert "exceeds the model's context of 1024 tokens" in failed.error.message
    assert response.data.calls[1].status == "ok"


async def test_a_model_that_does_not_load_stops_the_service_with_the_reason() -> None:
    service = ServiceProcess(
        "summarizer-broken",
        [sys.executable, "-m", "slmesh.summarizer"],
        {
            "SLMESH_MODEL__SOURCE": "/nonexistent/model.gguf",
            "SLMESH_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        },
    )
    await service.start()
    code = await service.wait(timeout=60)
    assert code == MODEL_LOAD_FAILED
    output = "\n".join(service.recent_output())
    assert "micromodel summarizer cannot start" in output
    assert "/nonexistent/model.gguf does not exist" in output


async def test_classifier_and_extractor_answer_through_the_mesh(mesh: MeshClient) -> None:
    bill = "Electricity bill for Max Müller, Hauptstraße 12, Hamburg. Amount due: 84.20 EUR."
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "amount": {"type": "number"}},
        "required": ["name", "amount"],
        "additionalProperties": False,
    }
    response = await mesh.ask(
        "classify and extract",
        timeout_s=WAIT_S,
        timeout_ms=20_000,
        calls=[
            {
                "micromodel": "classifier",
                "arguments": {
                    "text": "I was charged twice for the same invoice.",
                    "labels": ["billing", "delivery", "technical"],
                },
            },
            {"micromodel": "extractor", "arguments": {"text": bill, "schema": schema}},
        ],
    )
    assert response.data.status == "ok", response.data.answer
    classification, extraction = response.data.calls
    assert classification.output is not None
    assert classification.output["label"] in {"billing", "delivery", "technical"}
    assert extraction.output is not None
    data = extraction.output["data"]
    assert isinstance(data, dict)
    assert set(data) == {"name", "amount"}
    assert isinstance(data["amount"], float | int)
    assert all(c.model == "gemma-3-270m-q4_k_m" for c in response.data.calls)
