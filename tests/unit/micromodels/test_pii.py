"""The pii micromodel: its declaration, both modes, its summary, and its output contract."""

from __future__ import annotations

import jsonschema
import pytest
from pydantic import ValidationError

from slmesh.pii.micromodel import build
from slmesh.pii.scan import SUMMARY_QUOTE_CHARS, PiiReport, PiiRequest, describe, scan
from slmesh.runtime.pii import MAX_TEXT_CHARS
from slmesh.runtime.registry.admission import MAX_DESCRIPTION_CHARS
from slmesh.schemas import TaskCompletedData

TEXT = (
    "Dear Jane Whitfield, please mail jane@example.com or j.w@example.org and pay to "
    "DE89 3704 0044 0532 0130 00."
)


def request(text: str = TEXT, **more: object) -> PiiRequest:
    return PiiRequest.model_validate({"text": text, **more})


def test_declaration() -> None:
    micromodel = build()
    assert micromodel.name == "pii"
    assert not micromodel.uses_model
    assert micromodel.description.startswith("FindPersonalData: finds and redacts personal data")
    assert len(micromodel.description) <= MAX_DESCRIPTION_CHARS
    # Milliseconds, up to ~100 ms for 32,000 characters: off the event loop.
    assert micromodel.blocking


def test_redact_is_the_default_mode() -> None:
    report = scan(request())
    assert report.redacted == "Dear [PERSON], please mail [EMAIL] or [EMAIL] and pay to [IBAN]."
    assert report.found == {"person": 1, "email": 2, "iban": 1}
    assert [(s.kind, TEXT[s.start : s.end]) for s in report.spans] == [
        ("person", "Jane Whitfield"),
        ("email", "jane@example.com"),
        ("email", "j.w@example.org"),
        ("iban", "DE89 3704 0044 0532 0130 00"),
    ]


def test_find_mode_gives_spans_and_counts_only() -> None:
    report = scan(request(mode="find"))
    assert report.redacted is None
    assert report.found == {"person": 1, "email": 2, "iban": 1}
    assert len(report.spans) == 4


def test_no_value_is_in_the_output() -> None:
    dumped = scan(request()).model_dump_json()
    for value in ("Whitfield", "jane@example.com", "DE89", "0130"):
        assert value not in dumped


def test_the_output_is_valid_against_the_announced_schema() -> None:
    schema = build().output_schema()
    for mode in ("find", "redact"):
        jsonschema.validate(scan(request(mode=mode)).model_dump(mode="json"), schema)
    jsonschema.validate(scan(request("nothing here")).model_dump(mode="json"), schema)


def test_summary_counts_in_words() -> None:
    assert describe(scan(request())) == (
        "Found 1 name, 2 emails and 1 IBAN; redacted text: "
        "Dear [PERSON], please mail [EMAIL] or [EMAIL] and pay to [IBAN]."
    )
    assert describe(scan(request("call +44 20 7946 0958", mode="find"))) == (
        "Found 1 phone number."
    )
    assert describe(scan(request("nothing to see", mode="find"))) == "Found no personal data."


def test_the_summary_of_the_longest_text_fits_a_reply() -> None:
    text = ("Mail jane@example.com today. " * (MAX_TEXT_CHARS // 29))[:MAX_TEXT_CHARS]
    report = scan(request(text))
    summary = describe(report)
    assert summary.endswith(
        f"(first {SUMMARY_QUOTE_CHARS} of {len(report.redacted or '')} characters)"
    )
    # A reply's summary is bounded by the contract: one this long is accepted.
    TaskCompletedData.model_validate(
        {"task_id": "r:1", "micromodel": "pii", "output": {}, "summary": summary,
         "model": "deterministic", "latency_ms": 1.0, "replica": "pii-1"}
    )  # fmt: skip


@pytest.mark.parametrize(
    "arguments",
    [
        {"text": ""},
        {"text": "x" * (MAX_TEXT_CHARS + 1)},
        {"text": "x", "mode": "mask"},
        {"text": "x", "language": "de"},
        {},
    ],
)
def test_invalid_requests_are_refused(arguments: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        PiiRequest.model_validate(arguments)


def test_report_round_trips_through_json() -> None:
    report = scan(request())
    assert PiiReport.model_validate_json(report.model_dump_json()) == report
