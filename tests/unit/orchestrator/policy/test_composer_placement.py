"""The composer's model reads a request only where its classification may go: every
classification against a local and a remote composer model."""

from __future__ import annotations

import pytest

from slmesh.orchestrator.composition import Composition
from slmesh.orchestrator.opening_sentence import OpeningSentences
from slmesh.orchestrator.settings import OrchestratorSettings
from slmesh.runtime.registry.placement import CLASSIFICATIONS, Placement, rank
from slmesh.schemas import Classification
from tests.support.fake_store import FakeGatherStore, as_storage


class PlacedComposer:
    def __init__(self, placement: Placement) -> None:
        self._placement = placement

    @property
    def placement(self) -> Placement:
        return self._placement

    async def opening(self, request: str) -> Composition | None:
        return Composition("An opening.", "template+test", None)


@pytest.mark.parametrize("locality", ["on-premise", "remote"])
@pytest.mark.parametrize("classification", CLASSIFICATIONS)
def test_the_composers_model_reads_only_what_it_may(
    classification: Classification, locality: str
) -> None:
    allowed: Classification = "public" if locality == "remote" else "restricted"
    composer = PlacedComposer(
        Placement(locality=locality, provider="cloud.example", max_classification=allowed)  # type: ignore[arg-type]
    )
    openings = OpeningSentences(
        OrchestratorSettings(planner="rules"), as_storage(FakeGatherStore()), composer
    )
    assert openings.reads_remotely == (locality == "remote")
    refusal = openings.refusal(classification)
    if rank(classification) <= rank(allowed):
        assert refusal is None
    else:
        assert refusal is not None
        assert classification in refusal
        assert "remote at cloud.example, may receive up to public" in refusal
