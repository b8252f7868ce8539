"""A micromodel the orchestrator has never heard of is routed by its registry card alone.

`glossary` (tests/support/glossary_service.py) is started as a process of its own beside
the running mesh; its card carries its keywords, how its argument is read, and examples.
The orchestrators, already running, plan requests to it from that card.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from slmesh.cli.devstack import DevStack, ServiceProcess
from slmesh.runtime.client import MeshClient
from tests.support.kit import WAIT_S
from tests.support.mesh import own_micromodel

GLOSSARY_SERVICE = str(Path(__file__).parents[1] / "support" / "glossary_service.py")


@pytest.fixture(scope="module")
async def glossary(stack: DevStack, mesh: MeshClient) -> AsyncIterator[ServiceProcess]:
    async with own_micromodel(
        stack, GLOSSARY_SERVICE, "glossary-1", SLMESH_HEARTBEAT_S="1"
    ) as service:
        yield service


async def test_a_new_micromodel_is_routed_by_its_card(
    glossary: ServiceProcess, mesh: MeshClient
) -> None:
    # Both orchestrators must have read the card: ask until each request is planned by it.
    for _ in range(2 * 10):
        response = await mesh.ask(
            "Define churn and EBITDA for me, please", timeout_s=WAIT_S, timeout_ms=20_000
        )
        if response.data.calls:
            break
    data = response.data
    assert data.status == "ok", data.answer
    assert data.planner == "rules"
    assert [(c.micromodel, c.arguments) for c in data.calls] == [
        ("glossary", {"term": "CHURN"}),
        ("glossary", {"term": "EBITDA"}),
    ]
    assert "CHURN: the share of customers who stop buying in a period" in data.answer


async def test_a_part_its_card_does_not_cover_is_named_beside_the_answer(
    glossary: ServiceProcess, mesh: MeshClient
) -> None:
    response = await mesh.ask(
        "What does ARR mean? Then book me a flight to Rome",
        timeout_s=WAIT_S,
        timeout_ms=30_000,
    )
    data = response.data
    assert [(c.micromodel, c.arguments) for c in data.calls] == [("glossary", {"term": "ARR"})]
    assert data.status == "partial"
    assert data.unplaced == ["book me a flight to Rome"]
    assert "Not answered" in data.answer
