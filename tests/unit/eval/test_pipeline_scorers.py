"""The pipeline scorers of eval/pipeline_quality.py, on hand-built responses: each part
right on a right answer and wrong on a wrong one, and every set's lines scorable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eval.pipeline_quality import (
    SCORERS,
    SETS,
    amount,
    entity_found,
    is_polite,
    iso_date,
    names_any,
    pipeline_of,
    read_set,
    reply_text,
    same_claim_value,
    score_claim,
    score_insight,
    score_remediation,
    score_service,
)
from slmesh.schemas import RequestCompleted


def completed(output: dict[str, Any] | None, answer: str = "") -> RequestCompleted:
    return RequestCompleted.create(
        data={
            "status": "ok",
            "answer": answer,
            "planner": "explicit",
            "elapsed_ms": 1.0,
            "output": output,
        },
        source="/slmesh/orchestrator/orchestrator-1",
        request_id="req-eval",
    )


def wrong_parts(parts: dict[str, bool]) -> set[str]:
    return {name for name, right in parts.items() if not right}


# --- readings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "2026-03-14",
        "2026-03-14T09:30:00Z",
        "14/03/2026",
        "03/14/2026",
        "14.03.2026",
        "14 March 2026",
        "14th Mar 2026",
        "March 14, 2026",
        "Saturday 14 March 2026",
        "14-Mar-2026",
    ],
)
def test_a_date_is_read_however_it_is_written(written: str) -> None:
    assert iso_date(written) == "2026-03-14"


@pytest.mark.parametrize("written", ["soon", "31/02/2026", "14 Smarch 2026", ""])
def test_what_is_no_date_reads_as_none(written: str) -> None:
    assert iso_date(written) is None


@pytest.mark.parametrize(
    ("written", "value"),
    [
        (12.5, 12.5),
        ("€1,234.50", 1234.5),
        ("1.234,50 EUR", 1234.5),
        ("GBP 89.99", 89.99),
        ("$2,000", 2000.0),
        ("1 299,00", 1299.0),
        ("1.000.000", 1_000_000.0),
    ],
)
def test_an_amount_is_read_in_either_notation(written: Any, value: float) -> None:
    assert amount(written) == value


def test_no_number_is_no_amount() -> None:
    assert amount("unknown") is None
    assert amount(True) is None


def test_a_word_is_named_whatever_its_ending() -> None:
    assert names_any("We have refunded the order", ["refund"])
    assert names_any("Your deliveries were late", ["delivery"])
    assert names_any("We are replacing it today", ["replacement"])
    assert names_any("Upgrade to v9.8p1 now", ["9.8p1"])
    assert names_any("A GIFT CARD", ["gift card"])


def test_a_word_is_not_named_by_a_mere_prefix_or_another_word() -> None:
    assert not names_any("Thanks for your card", ["cardigan"])
    assert not names_any("a b c", ["apple"])
    assert not names_any("We will upgrade it", ["9.8p1"])
    assert not names_any("", ["refund"])


# --- customer-service ----------------------------------------------------------------

FAQ = {"source": "faq", "topic": "returns"}
REPLY = {
    "source": "reply",
    "intent": "complaint",
    "sentiment": "negative",
    "topic_words": ["refund", "boots"],
}


def test_a_right_faq_answer_scores_right() -> None:
    scored = score_service(
        FAQ,
        completed({"source": "faq", "topic": "returns", "answer": "You have 30 days."}),
    )
    assert scored.right
    assert set(scored.parts) == {"source", "topic", "faq_answered"}


def test_a_faq_question_answered_by_the_reply_model_fails_its_branch_and_topic() -> None:
    scored = score_service(
        FAQ, completed({"source": "reply", "intent": "question", "reply": "Hello! Sure."})
    )
    assert wrong_parts(scored.parts) == {"source", "topic"}


def test_a_faq_without_answer_text_is_wrong() -> None:
    scored = score_service(FAQ, completed({"source": "faq", "topic": "returns"}, answer=""))
    assert wrong_parts(scored.parts) == {"faq_answered"}


def test_a_right_reply_scores_right_part_by_part() -> None:
    scored = score_service(
        REPLY,
        completed(
            {
                "source": "reply",
                "intent": "complaint",
                "sentiment": "negative",
                "reply": "Hi, I'm so sorry your refund for the boots is late. I've chased it "
                "today and you'll have it within 3 working days.",
            }
        ),
    )
    assert scored.right
    assert set(scored.parts) == {
        "source",
        "intent",
        "sentiment",
        "reply_bounded",
        "reply_on_topic",
        "reply_polite",
    }


def test_each_part_of_a_wrong_reply_is_named() -> None:
    rambling = "Deal with it. " + "We process things in order. " * 15
    scored = score_service(
        REPLY,
        completed(
            {
                "source": "reply",
                "intent": {"label": "question"},
                "sentiment": "neutral",
                "reply": rambling,
            }
        ),
    )
    assert wrong_parts(scored.parts) == {
        "intent",
        "sentiment",
        "reply_bounded",
        "reply_on_topic",
        "reply_polite",
    }


def test_the_reply_is_read_from_reply_then_answer_then_the_responses_answer() -> None:
    assert reply_text(completed({"reply": "from reply", "answer": "x"})) == "from reply"
    assert reply_text(completed({"answer": "from answer"})) == "from answer"
    assert reply_text(completed({"source": "reply"}, answer="composed")) == "composed"
    assert reply_text(completed(None, answer="composed")) == "composed"


def test_an_empty_reply_is_not_bounded() -> None:
    scored = score_service(REPLY, completed({"source": "reply"}, answer=""))
    assert not scored.parts["reply_bounded"]


def test_politeness_needs_a_courtesy_and_no_rude_word() -> None:
    assert is_polite("Thank you for letting us know.")
    assert is_polite("We\u2019re sorry about the delay.")
    assert not is_polite("Your parcel will arrive on Tuesday.")
    assert not is_polite("Sorry, but that is your own fault.")
    assert not is_polite("Hello. What the hell happened?")
    # "Shell" and "hello" are not "hell".
    assert is_polite("Hello, the shell case ships today.")


# --- claims-validation ---------------------------------------------------------------

CLAIM = {
    "merchant": "Harbor & Pine Furniture",
    "transaction_date": "2026-03-30",
    "claim_date": "2026-04-15",
    "amount": 2480.5,
    "currency": "USD",
    "card_last4": "0337",
    "reason": "not_as_described",
}


def test_a_right_claim_scores_right_from_its_normalised_values() -> None:
    scored = score_claim(
        {"claim": CLAIM, "verdict": "accept", "failed_rules": []},
        completed({"claim": {}, "normalised": CLAIM, "verdict": "accept", "failed": []}),
    )
    assert scored.right


def test_raw_claim_values_are_normalised_before_comparing() -> None:
    raw = {
        "merchant": "HARBOR &  PINE FURNITURE LTD",
        "transaction_date": "March 30, 2026",
        "claim_date": "15/04/2026",
        "amount": "$2,480.50",
        "currency": "usd",
        "card_last4": "**** 0337",
        "reason": "Not as described",
    }
    scored = score_claim(
        {"claim": CLAIM, "verdict": "accept", "failed_rules": []},
        completed({"claim": raw, "normalised": {}, "verdict": "accept", "failed": []}),
    )
    assert scored.right


def test_each_wrong_claim_field_and_rule_is_named() -> None:
    given = {
        **CLAIM,
        "merchant": "Harbor Freight",
        "claim_date": "2026-04-16",
        "amount": 2480.0,
        "card_last4": "337",
    }
    scored = score_claim(
        {"claim": CLAIM, "verdict": "accept", "failed_rules": []},
        completed(
            {"normalised": given, "verdict": "reject", "failed": [{"rule": "R4", "field": "x"}]}
        ),
    )
    assert wrong_parts(scored.parts) == {
        "merchant",
        "claim_date",
        "amount",
        "card_last4",
        "verdict",
        "failed_rules",
    }
    assert scored.given["failed_rules"] == ["R4"]


def test_failed_rules_are_a_set_and_a_missing_field_must_be_missing() -> None:
    expected = {"claim": {**CLAIM, "card_last4": None}, "verdict": "reject", "failed_rules": ["R1"]}
    right = score_claim(
        expected,
        completed(
            {
                "normalised": {**CLAIM, "card_last4": None},
                "verdict": "reject",
                "failed": [{"rule": "r1"}, {"rule": "R1", "field": "card_last4"}],
            }
        ),
    )
    assert right.right
    guessed = score_claim(
        expected,
        completed({"normalised": CLAIM, "verdict": "reject", "failed": [{"rule": "R1"}]}),
    )
    assert wrong_parts(guessed.parts) == {"card_last4"}


def test_a_failed_pipeline_scores_every_part_wrong_but_a_missing_value() -> None:
    scored = score_claim(
        {"claim": {**CLAIM, "merchant": None}, "verdict": "reject", "failed_rules": ["R1"]},
        completed(None),
    )
    assert wrong_parts(scored.parts) == set(scored.parts) - {"merchant"}


@pytest.mark.parametrize(
    ("name", "want", "got", "same"),
    [
        ("currency", "EUR", "€", True),
        ("currency", "EUR", "GBP", False),
        ("reason", "not_received", "not-received", True),
        ("reason", "not_received", "fraud", False),
        ("merchant", "Elektro Hansen GmbH", "elektro hansen", True),
        ("merchant", "Elektro Hansen GmbH", "Hansen", False),
        ("amount", 10000.0, "10.000,00", True),
        ("amount", 10000.0, "not stated", False),
        ("card_last4", "0042", "XXXX0042", True),
        ("card_last4", "0042", "42", False),
        ("claim_date", None, "", True),
        ("claim_date", "2026-01-05", None, False),
    ],
)
def test_claim_values_compare_by_their_kind(name: str, want: Any, got: Any, same: bool) -> None:
    assert same_claim_value(name, want, got) is same


# --- unstructured-insight ------------------------------------------------------------

INSIGHT = {
    "absent": ["Â£", "Unsubscribe", "\u00a0"],
    "present": ["Corvel Packaging", "£18,400", "don't"],
    "entities": {
        "people": ["Hannah Oduya"],
        "organisations": ["Corvel Packaging", "Brackenfield Foods"],
        "places": [],
        "dates": ["14 April 2026"],
        "amounts": ["£18,400", "£16,900"],
    },
    "insight_words": ["price", "quote"],
}


def test_a_right_cleaning_extraction_and_insight_score_right() -> None:
    scored = score_insight(
        INSIGHT,
        completed(
            {
                "text": "Hannah: we don\u2019t hold the price; Corvel Packaging quotes "
                "£18,400 for 14 April 2026.",
                "entities": {
                    "people": ["Hannah"],
                    "organisations": ["Corvel Packaging Ltd"],
                    "places": ["Leeds"],
                    "dates": ["2026-04-14"],
                    "amounts": ["18400 GBP"],
                },
                "insight": "Corvel Packaging raised its quote to £18,400.",
            }
        ),
    )
    assert scored.right
    # A type with no expected values is not scored.
    assert "entities_places" not in scored.parts


def test_each_wrong_part_of_an_insight_is_named() -> None:
    scored = score_insight(
        INSIGHT,
        completed(
            {
                "text": "Corvel Packaging quotes Â£18,400.\u00a0Unsubscribe here",
                "entities": {"people": [], "organisations": ["Acme"], "amounts": ["£99"]},
                "insight": "",
            }
        ),
    )
    assert wrong_parts(scored.parts) == {
        "clean_absent",
        "clean_present",
        "entities_people",
        "entities_organisations",
        "entities_dates",
        "entities_amounts",
        "insight",
    }
    assert scored.given["clean_absent"] == ["Â£", "Unsubscribe", "\u00a0"]
    assert scored.given["clean_present"] == ["£18,400", "don't"]


def test_half_the_expected_entities_of_a_type_is_enough() -> None:
    scored = score_insight(
        INSIGHT,
        completed({"text": "", "entities": {"organisations": [{"text": "Brackenfield"}]}}),
    )
    assert scored.parts["entities_organisations"]


@pytest.mark.parametrize(
    ("kind", "want", "given", "found"),
    [
        ("people", "Renée Martin", ["RENÉE MARTIN"], True),
        ("people", "Renée Martin", ["Ms Dubois"], False),
        ("dates", "15/02/2026", ["February 15, 2026"], True),
        ("dates", "15/02/2026", ["2026-02-16"], False),
        ("amounts", "4.350,00 €", ["€4,350.00"], True),
        ("amounts", "1.150 EUR", ["1,150 euros"], True),
        ("amounts", "£15", ["£150"], False),
    ],
)
def test_entities_match_by_containment_or_by_value(
    kind: str, want: str, given: list[str], found: bool
) -> None:
    assert entity_found(kind, want, given) is found


# --- cve-remediation -----------------------------------------------------------------

CVE = {
    "cve_id": "CVE-2024-3400",
    "fixed_versions": ["10.2.9-h1", "11.0.4-h1", "11.1.2-h3"],
    "product": "PAN-OS",
    "severity": "critical",
    "sources": ["NVD", "CISA KEV"],
    "action_words": ["11.1.2-h3", "upgrade"],
}


def test_a_right_remediation_scores_right() -> None:
    scored = score_remediation(
        CVE,
        completed(
            {
                "cve_id": "cve-2024-3400",
                "cve_ids": ["CVE-2024-3400"],
                "product": "Palo Alto Networks PAN-OS",
                "affected_versions": ["< 11.1.2-h3"],
                "fixed_versions": ["v11.1.2-h3", "10.2.9-h1", "11.0.4-h1"],
                "severity": "CRITICAL",
                "actions": [{"action": "Upgrade PAN-OS to 11.1.2-h3 or later"}],
                "sources": ["nvd", "CISA KEV"],
                "summaries": [],
                "notes": [],
            }
        ),
    )
    assert scored.right


def test_each_wrong_part_of_a_remediation_is_named() -> None:
    scored = score_remediation(
        CVE,
        completed(
            {
                "cve_id": "CVE-2024-3401",
                "product": "GlobalProtect VPN client",
                "fixed_versions": ["10.2.9-h1", "11.0.4-h1"],
                "severity": "high",
                "actions": "Monitor the logs.",
                "sources": ["NVD"],
            }
        ),
    )
    assert wrong_parts(scored.parts) == {
        "cve_id",
        "fixed_versions",
        "product",
        "severity",
        "sources",
        "actions",
    }


def test_an_unknown_severity_must_be_given_as_none() -> None:
    unknown = {**CVE, "severity": None}
    output = {"cve_id": "CVE-2024-3400", "severity": None}
    assert score_remediation(unknown, completed(output)).parts["severity"]
    guessed = {**output, "severity": "high"}
    assert not score_remediation(unknown, completed(guessed)).parts["severity"]


# --- the sets ------------------------------------------------------------------------

NEW = ("customer-service", "claims-validation", "unstructured-insight", "cve-remediation")
SET_PATHS = sorted(p for p in SETS.glob("*.jsonl") if pipeline_of(p) in NEW)


def test_every_new_pipeline_has_a_scorer_and_a_held_apart_and_a_dev_set() -> None:
    for pipeline in NEW:
        assert pipeline in SCORERS
        assert (SETS / f"{pipeline}.jsonl").exists()
        assert (SETS / f"{pipeline}.dev.jsonl").exists()


@pytest.mark.parametrize("path", SET_PATHS, ids=lambda p: p.name)
def test_every_line_is_scorable_and_an_empty_answer_scores_wrong(path: Path) -> None:
    lines = read_set(path)
    assert len(lines) >= (4 if path.name.endswith(".dev.jsonl") else 18)
    assert len({line["id"] for line in lines}) == len(lines)
    score = SCORERS[pipeline_of(path)]
    for line in lines:
        assert ("text" in line) != ("arguments" in line), line["id"]
        scored = score(line["expected"], completed({}))
        assert scored.parts, line["id"]
        assert not scored.right, line["id"]
