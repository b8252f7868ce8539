"""Pipelines through the orchestrator on the in-memory broker: rounds from outputs, the
deadline naming the step it cut, a pipeline a caller may not run, and a pipeline the
planner offers as a tool (alone it runs; beside other calls it is named, not run)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

import pytest

from slmesh.orchestrator.planning.plan import Deferred, Plan, PlannedCall, ToolView
from slmesh.schemas import CallOutcome
from tests.support.identities import LIMITED_CALLER
from tests.unit.orchestrator.test_requests import SETTINGS, SeenTools, mesh, until

# Round 1 asks vat-rates for the input's country; round 2 for the country its answer names.
CHAIN = """
name: vat-chain
description: Two VAT lookups, the second fed by the first.
steps:
  - id: first
    micromodel: vat-rates
    take: {country: /input/text}
  - id: second
    micromodel: vat-rates
    take: {country: /steps/first/country}
  - id: digest
    micromodel: summarizer
    take: {text: /steps/second/country}
output:
  country: /steps/second/country
answer: ["{/steps/second/country} at {/steps/second/standard}%"]
"""
SUMMARY = """
name: summary-chain
description: A summary, then its summary.
steps:
  - id: once
    micromodel: summarizer
    take: {text: /input/text}
"""


@pytest.fixture
def pipelines(tmp_path: Path) -> Path:
    (tmp_path / "chain.yaml").write_text(CHAIN)
    (tmp_path / "summary.yaml").write_text(SUMMARY)
    return tmp_path


async def test_a_pipeline_runs_its_rounds_from_the_outputs_and_shapes_its_answer(
    pipelines: Path,
) -> None:
    settings = SETTINGS.model_copy(update={"pipelines_dir": pipelines, "max_calls": 5})
    async with mesh(settings) as m:
        request = await m.submit("DE", pipeline="vat-chain")
        [first] = await m.tasks_of(request, 1)
        assert first.data.arguments == {"country": "DE"}
        await m.reply(first, {"country": "FR", "standard": 20.0})
        [_, second] = await m.tasks_of(request, 2)
        assert second.data.arguments == {"country": "FR"}
        await m.reply(second, {"country": "IT", "standard": 22.0})
        [_, _, digest] = await m.tasks_of(request, 3)
        assert digest.data.micromodel == "summarizer"
        assert digest.data.arguments == {"text": "IT"}
        await m.reply(digest, {"summary": "Italy"})
        response = await m.response_to(request)
    data = response.data
    assert data.status == "ok", data.plan
    assert data.pipeline == "vat-chain@1.0.0"
    assert [c.step for c in data.calls] == ["first", "second", "digest"]
    assert data.steps == 3
    assert data.answer == "IT at 22.0%"
    assert data.output == {"country": "IT"}


async def test_the_deadline_names_the_steps_it_cut(pipelines: Path) -> None:
    settings = SETTINGS.model_copy(update={"pipelines_dir": pipelines})
    async with mesh(settings) as m:
        sweeper = asyncio.create_task(m.assembly.orchestrator.sweep_forever())
        try:
            request = await m.submit("DE", pipeline="vat-chain", timeout_ms=300)
            [first] = await m.tasks_of(request, 1)
            await m.reply(first, {"country": "FR", "standard": 20.0})
            # The second step's call gets no reply: the deadline answers.
            response = await m.response_to(request)
        finally:
            sweeper.cancel()
    data = response.data
    assert data.status == "partial"
    by_step = {c.step: c for c in data.calls}
    assert by_step["first"].status == "ok"
    assert by_step["second"].status == "missing"
    # Never reached: missing too, named by its step.
    assert by_step["digest"].status == "missing"
    assert by_step["digest"].task_id.endswith(":step-digest")
    assert data.output is None
    assert data.error is not None
    assert data.error.code == "deadline_exceeded"


async def test_a_caller_may_not_run_a_pipeline_with_a_step_it_may_not_call(
    pipelines: Path,
) -> None:
    settings = SETTINGS.model_copy(update={"pipelines_dir": pipelines})
    async with mesh(settings) as m:
        await m.submit("text", pipeline="summary-chain", caller=LIMITED_CALLER)
        await until(lambda: bool(m.others[LIMITED_CALLER]))
        [refusal] = m.others[LIMITED_CALLER]
        await m.settled()
        assert m.tasks == []
    assert refusal.data.error is not None
    assert refusal.data.error.code == "forbidden_micromodel"
    assert "'limited' may not call summarizer, which pipeline 'summary-chain'" in (
        refusal.data.error.message
    )


async def test_the_planner_is_offered_the_pipelines_the_caller_may_run(pipelines: Path) -> None:
    planner = SeenTools()
    settings = SETTINGS.model_copy(update={"pipelines_dir": pipelines})
    async with mesh(settings, planner=planner) as m:
        await m.submit("anything", caller=LIMITED_CALLER)
        await m.submit("anything")
        await until(lambda: len(planner.given) == 2)
    # `limited` may call vat-rates only: no pipeline with a summarizer step.
    assert planner.given == [
        {"vat-rates"},
        {"vat-rates", "summarizer", "vat-chain", "summary-chain"},
    ]


class Planned:
    """Plans the calls it is given, whatever the request."""

    name = "planned"

    def __init__(self, *calls: PlannedCall) -> None:
        self.calls = list(calls)

    async def plan(self, text: str, tools: Mapping[str, ToolView]) -> Plan:
        assert all(c.micromodel in tools for c in self.calls)
        return Plan(self.name, list(self.calls))

    async def follow_up(
        self, deferred: list[Deferred], results: list[CallOutcome], tools: Mapping[str, ToolView]
    ) -> Plan:
        raise AssertionError("nothing deferred")


async def test_a_request_the_planner_routes_to_a_pipeline_runs_it(pipelines: Path) -> None:
    planner = Planned(PlannedCall("summary-chain", {"text": "a long story"}))
    settings = SETTINGS.model_copy(update={"pipelines_dir": pipelines})
    async with mesh(settings, planner=planner) as m:
        request = await m.submit("Shorten this: a long story")
        [task] = await m.tasks_of(request, 1)
        assert task.data.micromodel == "summarizer"
        assert task.data.arguments == {"text": "a long story"}
        await m.reply(task, {"summary": "story"})
        response = await m.response_to(request)
    assert response.data.pipeline == "summary-chain@1.0.0"
    assert response.data.planner == "planned"
    assert "runs pipeline summary-chain" in response.data.plan
    assert response.data.status == "ok"


async def test_a_pipeline_beside_other_calls_is_named_not_run(pipelines: Path) -> None:
    planner = Planned(
        PlannedCall("summary-chain", {"text": "a story"}),
        PlannedCall("vat-rates", {"country": "DE"}),
    )
    settings = SETTINGS.model_copy(update={"pipelines_dir": pipelines})
    async with mesh(settings, planner=planner) as m:
        request = await m.submit("Shorten this story and give me the VAT in Germany")
        [task] = await m.tasks_of(request, 1)
        assert task.data.micromodel == "vat-rates"
        await m.reply(task)
        response = await m.response_to(request)
    data = response.data
    assert data.pipeline is None
    assert data.status == "partial"
    assert data.unplaced == [
        "pipeline(s) summary-chain not run: a pipeline runs alone; ask for it alone"
    ]


async def test_a_pipeline_beside_its_own_steps_on_its_own_text_runs_alone(
    pipelines: Path,
) -> None:
    """A request to "pull out the key points of this email" reads as the pipeline and as its
    summarizer step on the same text: the pipeline does that call itself, so it runs, once."""
    email = "Dear team, the shipment to Lyon is late by two weeks."
    planner = Planned(
        PlannedCall("summarizer", {"text": email, "max_words": 20}),
        PlannedCall("summary-chain", {"text": email}),
    )
    settings = SETTINGS.model_copy(update={"pipelines_dir": pipelines})
    async with mesh(settings, planner=planner) as m:
        request = await m.submit(f"Give me the gist of this email: {email}")
        [task] = await m.tasks_of(request, 1)
        assert task.data.arguments == {"text": email}
        await m.reply(task, {"summary": "shipment late"})
        response = await m.response_to(request)
    data = response.data
    assert data.pipeline == "summary-chain@1.0.0"
    assert data.status == "ok"
    assert "runs pipeline summary-chain (its steps do the summarizer calls)" in data.plan
    assert not data.unplaced


async def test_a_step_micromodels_call_on_another_text_keeps_the_pipeline_out(
    pipelines: Path,
) -> None:
    """The same micromodel on a text of the request's own is a part of the request the
    pipeline would not answer: the pipeline is named, not run, and the call is made."""
    planner = Planned(
        PlannedCall("summary-chain", {"text": "the first story, about a harbour"}),
        PlannedCall("summarizer", {"text": "a second story, about a mountain"}),
    )
    settings = SETTINGS.model_copy(update={"pipelines_dir": pipelines})
    async with mesh(settings, planner=planner) as m:
        request = await m.submit("Chain this story and summarize that one")
        [task] = await m.tasks_of(request, 1)
        assert task.data.arguments == {"text": "a second story, about a mountain"}
        await m.reply(task, {"summary": "mountain"})
        response = await m.response_to(request)
    assert response.data.pipeline is None
    assert response.data.unplaced == [
        "pipeline(s) summary-chain not run: a pipeline runs alone; ask for it alone"
    ]
