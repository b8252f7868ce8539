"""Natural-language requests planned by the orchestrator's planner, end to end."""

from __future__ import annotations

from slmesh.runtime.client import MeshClient
from tests.support.kit import WAIT_S

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
    # The replica's first inference may be this one, cold, on a busy 2-core machine: the
    # session's 4 s would fail it `deadline_exceeded` before the planner says why.
    response = await mesh.ask("Write me a poem about the sea.", timeout_s=WAIT_S, timeout_ms=30_000)
    data = response.data
    assert data.status == "failed"
    assert data.error is not None
    assert data.error.code == "no_plan"
    assert data.plan
    assert data.calls == []
    # No rule knew this clause: the model ranked the tools and chose none.
    assert data.planner == "decomposition+gemma-3-270m-q4_k_m"
    assert data.planning is not None
    assert data.planning.latency_ms > 0


INVOICE = (
    "Invoice 2291 from Müller GmbH, Hauptstraße 5, 10115 Berlin, Germany. "
    "Amount: 1,200.00 EUR net, payable within 30 days."
)


async def test_a_chained_request_runs_a_second_round_on_the_first_rounds_result(
    mesh: MeshClient,
) -> None:
    """planner -> extractor (SLM) -> planner again -> vat-rates -> composer, on real parts."""
    response = await mesh.ask(
        f"Extract the country from this invoice, then give me the VAT rates for it: {INVOICE}",
        # Two rounds of inference on a shared 2-core machine (extraction is the slow one).
        timeout_s=3 * WAIT_S,
        timeout_ms=80_000,
    )
    data = response.data
    assert data.status == "ok", data.answer
    assert data.steps == 2
    assert [c.micromodel for c in data.calls] == ["extractor", "vat-rates"]
    assert data.calls[0].output is not None
    extracted = data.calls[0].output["data"]
    assert isinstance(extracted, dict)
    # Read as the invoice writes it or as its ISO code (the extractor chooses among the
    # document's own spans and types a country field as a code where it can).
    assert str(extracted["country"]).upper().startswith(("GERMANY", "DE"))
    # The second call's argument came from the first call's output.
    assert data.calls[1].arguments == {"country": "DE"}
    assert any(step.startswith("round 2:") for step in data.plan)
    assert "Germany (DE): standard 19%, reduced 7%" in data.answer
    # The model wrote the opening; the figures are quoted as vat-rates gave them.
    assert data.composer.startswith("template+")
    assert data.composing is not None
    assert not any(ch.isdigit() for ch in data.answer.split("\n")[0])


async def test_a_deferred_clause_that_the_results_cannot_feed_fails_plainly(
    mesh: MeshClient,
) -> None:
    response = await mesh.ask(
        f"Summarize this, then give me the VAT rates for it: {NOTES}",
        timeout_s=WAIT_S,
        timeout_ms=30_000,
    )
    data = response.data
    # The summary names no member state: the VAT call cannot be made and says why.
    assert data.status == "partial", data.answer
    assert data.steps == 1
    failed = [c for c in data.calls if c.status == "failed"]
    assert [c.micromodel for c in failed] == ["vat-rates"]
    assert failed[0].error is not None
    assert failed[0].error.code == "invalid_arguments"
    assert "Partial answer" in data.answer
