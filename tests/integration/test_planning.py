"""Natural-language requests planned by the orchestrator's planner, end to end."""

from __future__ import annotations

import pytest

from slmesh.runtime.client import MeshClient

from .kit import WAIT_S

pytestmark = pytest.mark.integration

NOTES = (
    "The city council met on Tuesday to discuss the new bicycle lanes on Main Street. "
    "Residents complained about blocked parking, and the council promised free parking "
    "in the municipal garage until the works end."
)


async def test_a_mixed_request_is_planned_fanned_out_and_composed(mesh: MeshClient) -> None:
    response = await mesh.ask(
        f"What are the VAT rates in Germany and France, and summarize this: {NOTES}",
        timeout_s=WAIT_S,
        timeout_ms=20_000,
    )
    data = response.data
    assert data.status == "ok", data.answer
    # Every clause here is clear-cut: rules decided, the model was not needed.
    assert data.planner == "rules"
    assert [c.micromodel for c in data.calls] == ["vat-rates", "vat-rates", "summarizer"]
    assert [c.arguments.get("country") for c in data.calls[:2]] == ["DE", "FR"]
    assert data.calls[2].arguments["text"] == NOTES
    assert "Germany (DE): standard 19%" in data.answer
    assert "France (FR): standard 20%" in data.answer
    assert "Summary: " in data.answer
    assert len(data.plan) == 2


async def test_an_out_of_scope_request_gets_no_plan_with_the_steps(mesh: MeshClient) -> None:
    response = await mesh.ask("Write me a poem about the sea.", timeout_s=WAIT_S)
    data = response.data
    assert data.status == "failed"
    assert data.error is not None
    assert data.error.code == "no_plan"
    assert data.plan
    assert data.calls == []
    # No rule knew this clause: the model ranked the tools and chose none.
    assert data.planner == "decomposition+gemma-3-270m-q4_k_m"
