"""Requests the rules planner answers: one call, a few calls, a fan-out to all 27 countries."""

from __future__ import annotations

import pytest

from slmesh.runtime.client import MeshClient

from .kit import WAIT_S, TopicTap, no_second_response

pytestmark = pytest.mark.integration


async def test_a_single_call_answers_with_the_german_rates(
    mesh: MeshClient, responses: TopicTap
) -> None:
    response = await mesh.ask("What is the VAT rate in Germany?", timeout_s=WAIT_S)

    data = response.data
    assert data.status == "ok", data.answer
    assert data.error is None
    assert data.planner == "rules"
    assert len(data.calls) == 1
    call = data.calls[0]
    assert (call.micromodel, call.arguments, call.status) == ("vat-rates", {"country": "DE"}, "ok")
    assert call.output is not None
    rates = call.output["rates"]
    assert isinstance(rates, list)
    assert len(rates) == 1
    germany = rates[0]
    assert isinstance(germany, dict)
    assert (germany["country"], germany["standard"]) == ("DE", 19)
    assert "Germany (DE): standard 19%" in data.answer
    assert response.source.startswith("/slmesh/orchestrator/orchestrator-")
    await no_second_response(responses, response.requestid)
