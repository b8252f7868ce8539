"""The cards' texts nearest a clause no keyword placed, by the packaged encoder."""

from __future__ import annotations

from slmesh.orchestrator.planning.nearest import NearestExamples
from slmesh.runtime.embedding import packaged_encoder
from tests.support.planning import live_tools

TOOLS = live_tools()


def test_a_clause_is_nearest_the_card_that_does_it() -> None:
    nearest = NearestExamples(packaged_encoder())
    affinity = nearest.affinity("how much goes to the tax office on a sale in Lisbon", TOOLS)
    assert max(affinity, key=affinity.__getitem__) == "vat-rates"
    first = nearest.neighbours("boil this memo down to a couple of lines", TOOLS)[0]
    assert first.tool == "summarizer"
    assert first.similarity > 0.3
