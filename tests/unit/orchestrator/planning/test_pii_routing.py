"""The pii micromodel's card routes a request to redact or find personal data to it, with
the request's text; the orchestrator itself knows nothing of pii."""

from __future__ import annotations

import pytest

from slmesh.orchestrator.planning.cards import arguments, keyword_tools
from slmesh.orchestrator.planning.decomposition import NO_TEXT, Clause
from tests.support.planning import live_tools

TOOLS = live_tools()


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
    assert arguments(TOOLS["pii"], clause) == [{"text": "Call Jane on 030 1234567"}]
    assert arguments(TOOLS["pii"], Clause("redact", None)) == NO_TEXT
