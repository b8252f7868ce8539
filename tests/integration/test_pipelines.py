"""Declared pipelines on the real broker, Redis and llama.cpp: a fan-out over a list, a
switch on a classifier's label (both branches), a chain broken by a value that does not
fit the next step, and the requests a pipeline refuses; each followed by a request that
is served.

The session's orchestrators load the pipelines the repository ships (pipelines/) and
the tests' own (tests/support/pipelines/).
"""

from __future__ import annotations

import pytest

from slmesh.cli.commands.pipelines.text import describe_card
from slmesh.cli.commands.registry.replicas import read_snapshot
from slmesh.runtime.client import MeshClient
from slmesh.runtime.registry import pipeline_key
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import PipelineAnnounced, RequestCompleted, encode
from tests.support.kit import ORCHESTRATORS, WAIT_S, RawProducer
from tests.support.proofs import proven

# Model steps on a busy two-core box: seconds each.
MODEL_TIMEOUT_MS = 40_000
MODEL_WAIT_S = 60.0


async def run(mesh: MeshClient, text: str, pipeline: str, **data: object) -> RequestCompleted:
    return await mesh.ask(
        text, timeout_s=MODEL_WAIT_S, timeout_ms=MODEL_TIMEOUT_MS, pipeline=pipeline, **data
    )


async def vat_compare(mesh: MeshClient, countries: list[str]) -> RequestCompleted:
    return await mesh.ask(
        "compare",
        timeout_s=WAIT_S,
        timeout_ms=20_000,
        pipeline="vat-compare",
        arguments={"countries": countries},
    )


async def test_a_mapped_step_fans_out_in_one_round_and_shapes_the_output(
    mesh: MeshClient,
) -> None:
    response = await vat_compare(mesh, ["DE", "FR", "IT"])

    data = response.data
    assert data.status == "ok", data.answer
    assert data.pipeline == "vat-compare@1.0.0"
    assert data.planner == "pipeline vat-compare@1.0.0"
    assert data.steps == 1
    assert [c.step for c in data.calls] == ["rates[0]", "rates[1]", "rates[2]"]
    assert [c.arguments for c in data.calls] == [{"country": c} for c in ("DE", "FR", "IT")]
    assert data.output is not None
    items = data.output["rates"]
    assert isinstance(items, list)
    countries = [item["rates"][0]["country"] for item in items]  # type: ignore[index,call-overload]
    assert countries == ["DE", "FR", "IT"]
    assert data.answer.startswith("VAT rates: [")
    assert "step rates -> vat-rates: 3 call(s)" in data.plan


@pytest.mark.model
async def test_a_switch_takes_the_complaint_branch_two_rounds_of_real_inference(
    mesh: MeshClient,
) -> None:
    text = (
        "I am furious. You charged my card twice for the same order, the parcel never "
        "arrived, and nobody answers my emails. I want my money back now."
    )
    response = await run(mesh, text, "support-triage")

    data = response.data
    assert data.status == "ok", (data.answer, data.plan, data.calls)
    assert [c.step for c in data.calls] == ["intent", "gist"]
    intent, gist = data.calls
    assert intent.output is not None
    assert intent.output["label"] == "complaint"
    assert gist.arguments == {"max_words": 20, "text": text}
    assert gist.output is not None
    summary = gist.output["summary"]
    assert isinstance(summary, str)
    assert summary
    assert data.steps == 2
    assert data.answer == f"Complaint: {summary}"
    assert data.output == {"intent": "complaint"}


@pytest.mark.model
async def test_a_branch_not_taken_is_skipped_and_said(mesh: MeshClient) -> None:
    text = "Thank you so much! The delivery was fast and the lamp is wonderful, great job."
    response = await run(mesh, text, "support-triage")

    data = response.data
    assert data.status == "ok", (data.answer, data.plan)
    assert [c.step for c in data.calls] == ["intent"]
    assert data.calls[0].output is not None
    label = data.calls[0].output["label"]
    assert label != "complaint"
    assert f'round 2: step gist: skipped: /steps/intent/label is "{label}", not "complaint"' in (
        data.plan
    )
    assert data.answer == f"A {label}: nothing to escalate."


@pytest.mark.model
async def test_an_output_that_does_not_fit_the_next_step_fails_that_step_clearly(
    mesh: MeshClient,
) -> None:
    response = await run(mesh, "Where is my order 1234?", "broken-chain")

    data = response.data
    assert data.status == "partial", data.answer
    by_step = {c.step: c for c in data.calls}
    assert by_step["intent"].status == "ok"
    rate = by_step["rate"]
    assert rate.status == "failed"
    assert rate.error is not None
    assert rate.error.code == "invalid_arguments"
    assert "country" in rate.error.message
    gist = by_step["gist"]
    assert gist.status == "failed"
    assert gist.error is not None
    assert gist.error.code == "step_not_run"
    assert gist.error.message.startswith("step rate failed (")
    assert data.output is None
    # No template could be filled: the answer is the mesh's own, naming what failed.
    assert "vat-rates" in data.answer

    served = await vat_compare(mesh, ["AT"])
    assert served.data.status == "ok", served.data.answer


async def test_an_unknown_pipeline_is_refused_by_name_and_the_next_is_served(
    mesh: MeshClient,
) -> None:
    response = await mesh.ask("x", timeout_s=WAIT_S, pipeline="no-such-pipeline")

    data = response.data
    assert data.status == "failed"
    assert data.error is not None
    assert data.error.code == "unknown_pipeline"
    assert "'no-such-pipeline'" in data.error.message
    assert "vat-compare" in data.error.message
    assert data.calls == []

    served = await vat_compare(mesh, ["PL"])
    assert served.data.status == "ok", served.data.answer


async def test_arguments_that_fail_the_input_schema_are_refused_before_any_call(
    mesh: MeshClient,
) -> None:
    response = await mesh.ask(
        "x", timeout_s=WAIT_S, pipeline="vat-compare", arguments={"countries": "DE"}
    )

    data = response.data
    assert data.status == "failed"
    assert data.error is not None
    assert data.error.code == "invalid_arguments"
    assert "countries: 'DE' is not of type 'array'" in data.error.message
    assert data.calls == []

    served = await vat_compare(mesh, ["SE"])
    assert served.data.status == "ok", served.data.answer


@pytest.mark.model
async def test_the_planner_routes_a_request_to_a_pipeline_by_its_card(mesh: MeshClient) -> None:
    text = (
        "Triage this customer message: You charged me twice for one order and your support "
        "line hangs up on me. This is unacceptable, refund me."
    )
    response = await mesh.ask(text, timeout_s=MODEL_WAIT_S, timeout_ms=MODEL_TIMEOUT_MS)

    data = response.data
    assert data.pipeline == "support-triage@1.0.0", (data.plan, data.answer)
    assert data.planner == "rules"
    assert "runs pipeline support-triage" in data.plan
    assert data.calls[0].step == "intent"
    # The text after the colon is the pipeline's input, as its card's routing reads it.
    assert data.calls[0].arguments["text"] == text.split(": ", 1)[1]
    assert data.status == "ok", data.answer


async def test_the_validator_names_each_field_that_fails_and_normalises_the_rest(
    mesh: MeshClient,
) -> None:
    fields = {
        "iban": "GB82 WEST 1234 5698 7654 33",
        "postcode": "sw1a 1aa",
        "issue_date": "12.03.2026",
        "due_date": "1 March 2026",
        "amount_due": "£1,234.50",
    }
    rules = [
        {"field": "iban", "check": "iban"},
        {"field": "postcode", "check": "postcode", "country": "GB"},
        {"field": "amount_due", "check": "amount"},
        {"field": "issue_date", "check": "before", "other": "due_date"},
    ]
    call = {"micromodel": "validator", "arguments": {"fields": fields, "rules": rules}}
    response = await mesh.ask("check", timeout_s=WAIT_S, timeout_ms=20_000, calls=[call])

    [done] = response.data.calls
    assert done.status == "ok", done.error
    assert done.model == "deterministic"
    assert done.output is not None
    assert done.output["valid"] is False
    failed = done.output["failed"]
    assert isinstance(failed, list)
    assert [(f["field"], f["check"]) for f in failed] == [  # type: ignore[index,call-overload]
        ("iban", "iban"),
        ("issue_date", "before"),
    ]
    # Only what passed is normalised: the dates failed their order.
    assert done.output["normalised"] == {"postcode": "SW1A 1AA", "amount_due": 1234.5}


@pytest.mark.model
async def test_a_bill_is_extracted_by_a_model_then_checked_by_code(mesh: MeshClient) -> None:
    bill = (
        "Lumen Power plc - Electricity bill\nBill date: 12 March 2026  Account no: 88-1204-7731\n"
        "Ms Alison Greer, 7 Harbour View, Bristol BS1 6QA\n"
        "Supply period: 10 February 2026 - 9 March 2026\n"
        "Total to pay: GBP 89.01 by direct debit on 26 March 2026\n"
        "Paying from: GB33 BUKB 2020 1555 5555 55"
    )
    response = await run(mesh, bill, "bill-to-data")

    data = response.data
    assert data.status == "ok", (data.plan, data.calls)
    assert [c.step for c in data.calls] == ["extract", "check"]
    extract, check = data.calls
    assert extract.output is not None
    assert check.output is not None
    # The validator was given what the extractor wrote, field for field.
    assert check.arguments["fields"] == extract.output["data"]
    assert data.output is not None
    assert data.output["fields"] == extract.output["data"]
    problems = data.output["problems"]
    assert isinstance(problems, list)
    assert data.output["valid"] is (problems == [])
    # Whatever the model read, every problem names a field the pipeline checks, and why.
    checked = {"supplier", "account_number", "amount_due", "currency", "iban", "postcode"}
    checked |= {"issue_date", "due_date", "period_start"}
    for problem in problems:
        assert isinstance(problem, dict)
        assert problem["field"] in checked
        assert problem["reason"]


async def test_every_orchestrator_announces_its_pipelines_in_the_registry(
    settings: MeshSettings,
) -> None:
    """Discoverable like a micromodel: a caller that never saw the files learns each
    pipeline's steps and schemas from the registry, and that every replica runs one
    definition of it."""
    snapshot = await read_snapshot(settings)
    announced = snapshot.pipelines
    assert {"bill-to-data", "support-triage", "vat-compare"} <= set(announced)
    bill = announced["bill-to-data"]
    assert sorted(bill.live_replicas(snapshot.now)) == sorted(ORCHESTRATORS)
    assert len(bill.digests(snapshot.now)) == 1
    assert [s.micromodel for s in bill.card.steps] == ["extractor", "validator"]
    assert bill.card.input_schema["required"] == ["text"]
    shown = describe_card(bill.card, len(ORCHESTRATORS), 1)
    assert "runs on 2 orchestrator replicas" in shown
    assert "steps: extract: extractor -> check: validator" in shown
    # A pipeline is no micromodel: no task topic, no tool of the micromodels' list.
    assert "bill-to-data" not in snapshot.tools


async def test_a_pipeline_card_forged_by_a_micromodel_is_refused_and_the_next_is_served(
    settings: MeshSettings, raw: RawProducer, mesh: MeshClient
) -> None:
    """The extractor's identity may write the registry (its own card): a pipeline card it
    signs, that would offer the planner a chain of its making, is kept out of every
    catalogue and shown refused; the pipelines keep running."""
    forged = PipelineAnnounced.create(
        data={
            "name": "exfiltrate",
            "version": "1.0.0",
            "description": "Sends every text to the extractor.",
            "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}},
            "output_schema": {},
            "steps": [{"id": "grab", "micromodel": "extractor"}],
            "digest": "a" * 64,
            "replica": "rogue-1",
            "status": "up",
            "heartbeat_s": 5.0,
        },
        source="slmesh://rogue",
        request_id="registry",
    )
    key = pipeline_key("exfiltrate", "rogue-1")
    value = encode(forged)
    headers = proven("extractor", settings.registry_topic, key, value, to=None)
    await raw.send(settings.registry_topic, value, key=key, headers=headers)

    snapshot = await read_snapshot(settings)
    assert "exfiltrate" not in snapshot.pipelines
    refused = {r.key: r for r in snapshot.refused}
    assert key in refused
    assert "only an orchestrator runs one" in refused[key].reason

    response = await vat_compare(mesh, ["AT"])
    assert response.data.status == "ok", response.data.answer
