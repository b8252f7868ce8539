"""The planner's rule for the pii micromodel: asked to redact, it calls pii with the text."""

from __future__ import annotations

import pytest

from slmesh.orchestrator.planning.decomposition import NO_TEXT, Clause
from slmesh.orchestrator.planning.knowledge import arguments, keyword_tools

TOOLS = {"vat-rates", "summarizer", "classifier", "extractor", "pii"}


@pytest.mark.parametrize(
    "clause",
    [
        "Redact the personal data in this email",
        "anonymise this letter",
        "Find the PII in this note",
        "Bitte die personenbezogenen Daten schwärzen",
    ],
)
def test_a_clause_asking_for_redaction_goes_to_pii(clause: str) -> None:
    assert keyword_tools(clause, TOOLS) == ["pii"]


def test_other_clauses_do_not() -> None:
    assert "pii" not in keyword_tools("Summarize the quarterly report", TOOLS)
    assert "pii" not in keyword_tools("What VAT applies in Greece", TOOLS)


def test_pii_takes_the_request_s_text() -> None:
    clause = Clause("redact this", "Call Jane on 030 1234567")
    assert arguments("pii", clause, "redact this: Call Jane on 030 1234567") == [
        {"text": "Call Jane on 030 1234567"}
    ]
    assert arguments("pii", Clause("redact", None), "redact") == NO_TEXT
