"""The use cases the mesh was built for, end to end on the real broker, Redis and
llama.cpp, each as its example pipeline (pipelines/) runs it: a customer-service desk,
CVE remediation, claims validation and an unstructured text made useful (the utility
bill is test_pipelines'). Each is asked as a caller asks it, by pipeline name, and what
plain code decides is asserted exactly; what a model writes, by its shape and bounds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from slmesh.runtime.client import MeshClient
from slmesh.schemas import RequestCompleted

# Model steps on a busy two-core box: seconds each, a few rounds.
MODEL_TIMEOUT_MS = 60_000
MODEL_WAIT_S = 80.0
EXAMPLES = Path(__file__).parents[2] / "examples" / "pipelines"


def example(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads((EXAMPLES / f"{name}.json").read_bytes())
    return loaded


async def run(mesh: MeshClient, pipeline: str, text: str, **data: Any) -> RequestCompleted:
    return await mesh.ask(
        text, timeout_s=MODEL_WAIT_S, timeout_ms=MODEL_TIMEOUT_MS, pipeline=pipeline, **data
    )


def outputs(response: RequestCompleted) -> dict[str, Any]:
    assert response.data.output is not None, (response.data.answer, response.data.plan)
    return dict(response.data.output)


async def test_cve_advisories_are_summarised_in_one_round_and_combined_into_one_record(
    mesh: MeshClient,
) -> None:
    asked = example("cve-remediation")
    response = await run(mesh, "cve-remediation", asked["input"], arguments=asked["arguments"])

    data = response.data
    assert data.status == "ok", (data.answer, data.plan, data.calls)
    advisories = asked["arguments"]["advisories"]
    steps = [c.step for c in data.calls]
    assert steps == [*(f"summaries[{i}]" for i in range(len(advisories))), "record"]
    # The fan-out went out together; the record came in the next round.
    assert data.steps == 2
    for call in data.calls[:-1]:
        assert call.model is not None
        assert call.output is not None
        assert call.output["summary"]
    record = outputs(response)
    # What plain code read from the texts, exactly.
    assert record["cve_id"] == "CVE-2023-44487"
    assert {"9.0.81", "10.1.14"} <= set(record["fixed_versions"])
    assert record["sources"] == [a["source"] for a in advisories]
    assert record["severity"] == "high"
    assert any("9.0.81" in action for action in record["actions"])
    assert len(record["summaries"]) == len(advisories)
    assert "CVE-2023-44487" in data.answer


async def test_a_messy_email_is_cleaned_then_read_for_entities_and_summed_up(
    mesh: MeshClient,
) -> None:
    asked = example("unstructured-insight")
    response = await run(mesh, "unstructured-insight", asked["input"])

    data = response.data
    assert data.status == "ok", (data.answer, data.plan, data.calls)
    assert [c.step for c in data.calls] == ["clean", "entities", "insight"]
    shaped = outputs(response)
    cleaned = shaped["text"]
    # The cleaner (plain code): the encoding repaired, markup, signature, quoted reply,
    # disclaimer and footer gone; the body's facts kept verbatim.
    for gone in (
        "\u00e2\u201a\u00ac",
        "<p>",
        "&rsquo;",
        "Sent from my iPhone",
        "CONFIDENTIALITY",
        "Unsubscribe",
    ):
        assert gone not in cleaned, gone
    for kept in ("Northwind Logistics", "Rotterdam", "14 May 2025", "€2,400"):
        assert kept in cleaned, kept
    # Both model steps read the cleaned text, not the raw one: the extractor all of it
    # (names in a signature count), the summarizer its body without greeting or sign-off.
    entities_call, insight_call = data.calls[1], data.calls[2]
    assert entities_call.arguments["text"] == cleaned
    body = insight_call.arguments["text"]
    assert isinstance(body, str)
    assert body in cleaned
    assert not body.startswith("Hi Marta")
    assert "Northwind Logistics will move the Rotterdam shipment" in body
    entities = shaped["entities"]
    assert set(entities) == {"people", "organisations", "places", "dates", "amounts"}
    # Whatever the model chose, it is in the text it read (never an example's value).
    for values in entities.values():
        for value in values:
            assert value.lower() in cleaned.lower(), value
    assert shaped["insight"]
    assert len(shaped["insight"].split()) <= 25


async def test_a_policy_question_is_answered_by_the_faq_alone_from_its_policy_file(
    mesh: MeshClient,
) -> None:
    question = "What's your refund policy?"
    response = await run(mesh, "customer-service", question, arguments={"message": question})

    data = response.data
    assert data.status == "ok", (data.answer, data.plan, data.calls)
    # Plain code answered: no model was asked, the reply branch was skipped and said so.
    assert [c.step for c in data.calls if c.status == "ok"] == ["faq"]
    assert all(c.model in (None, "deterministic") for c in data.calls if c.status == "ok")
    shaped = outputs(response)
    assert shaped["faq_matched"] is True
    assert shaped["topic"] == "refunds"
    assert data.answer == shaped["answer"]
    assert not {"intent", "sentiment", "reply"} & set(shaped)


async def test_an_unhappy_customer_is_classified_then_given_a_bounded_polite_reply(
    mesh: MeshClient,
) -> None:
    asked = example("customer-service")
    message = asked["arguments"]["message"]
    response = await run(mesh, "customer-service", asked["input"], arguments=asked["arguments"])

    data = response.data
    assert data.status == "ok", (data.answer, data.plan, data.calls)
    assert [c.step for c in data.calls] == ["faq", "intent", "sentiment", "reply"]
    # Three rounds: the faq, both classifiers together, the reply.
    assert data.steps == 3
    shaped = outputs(response)
    assert shaped["faq_matched"] is False
    assert shaped["intent"] in ("complaint", "question", "praise")
    assert shaped["sentiment"] in ("negative", "neutral", "positive")
    reply_call = data.calls[-1]
    assert reply_call.arguments == {
        "message": message,
        "intent": shaped["intent"],
        "sentiment": shaped["sentiment"],
    }
    assert reply_call.model is not None
    reply = shaped["reply"]
    assert data.answer == reply
    assert 0 < len(reply.split()) <= 60
    # On the customer's topic, which plain code read from the message.
    assert shaped["reply_topic"]
    assert shaped["reply_topic"].lower() in reply.lower()
    assert shaped["reply_topic"].lower() in message.lower()


async def test_a_claim_is_extracted_then_checked_against_the_versioned_rules(
    mesh: MeshClient,
) -> None:
    asked = example("claims-validation")
    response = await run(mesh, "claims-validation", asked["input"])

    data = response.data
    assert data.status == "ok", (data.answer, data.plan, data.calls)
    assert [c.step for c in data.calls] == ["extract", "check"]
    shaped = outputs(response)
    normalised = shaped["normalised"]
    assert normalised["card_last4"] == "4821"
    assert normalised["amount"] == 1234.5
    assert normalised["currency"] == "EUR"
    assert normalised["transaction_date"] == "2026-03-03"
    assert normalised["claim_date"] == "2026-03-20"
    assert shaped["verdict"] == "accept"
    assert shaped["failed"] == []


async def test_a_claim_filed_too_late_is_rejected_naming_the_rule_and_what_it_came_from(
    mesh: MeshClient,
) -> None:
    claim = (
        "Dispute claim. Merchant: Nordic Outdoor AB. Card ending 0937. Transaction date: "
        "2 January 2026. Amount: 249.00 GBP. Claim date: 30 June 2026. Reason: duplicate "
        "(the same jacket was charged twice)."
    )
    response = await run(mesh, "claims-validation", claim)

    data = response.data
    assert data.status == "ok", (data.answer, data.plan, data.calls)
    shaped = outputs(response)
    assert shaped["verdict"] == "reject"
    failed = {f["rule"]: f for f in shaped["failed"]}
    assert set(failed) == {"R7"}
    assert failed["R7"]["derived_from"] == "filed_late"
    assert "R7" in data.answer


async def test_the_planner_routes_validate_this_claim_to_the_claims_pipeline(
    mesh: MeshClient,
) -> None:
    """Offered to the planner as a tool by its card: a caller asks in words, names no
    pipeline, and the claims pipeline runs."""
    claim = example("claims-validation")["input"]
    response = await mesh.ask(
        f"Validate this claim: {claim}", timeout_s=MODEL_WAIT_S, timeout_ms=MODEL_TIMEOUT_MS
    )

    data = response.data
    assert data.pipeline == "claims-validation@1.0.0", (data.plan, data.unplaced)
    assert "runs pipeline claims-validation" in " ".join(data.plan)
    assert data.status == "ok", (data.answer, data.calls)
    assert data.output is not None
    assert data.output["verdict"] == "accept"
