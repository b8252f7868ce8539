"""The deterministic composer: quotes micromodel summaries, names what failed or is missing."""

from __future__ import annotations

from typing import Any

from slmesh.orchestrator.composer import compose, response_status
from slmesh.schemas import CallOutcome


def call(status: str, country: str, **extra: Any) -> CallOutcome:
    return CallOutcome.model_validate(
        {
            "task_id": f"r:{country}",
            "micromodel": "vat-rates",
            "arguments": {"country": country},
            "status": status,
            **extra,
        }
    )


def test_all_answered_is_ok_and_quotes_summaries_verbatim() -> None:
    calls = [
        call("ok", "DE", summary="Germany (DE): standard 19%, reduced 7%", output={}),
        call("ok", "FR", summary="France (FR): standard 20%", output={}),
    ]
    assert response_status(calls) == "ok"
    assert compose(calls) == "Germany (DE): standard 19%, reduced 7%\nFrance (FR): standard 20%"


def test_missing_call_makes_a_partial_answer_that_names_it() -> None:
    calls = [
        call("ok", "DE", summary="Germany (DE): standard 19%", output={}),
        call("missing", "IT"),
    ]
    assert response_status(calls) == "partial"
    answer = compose(calls)
    assert answer.startswith("Partial answer: 1 of 2 calls answered.")
    assert "Missing (no reply before the deadline): vat-rates(country=IT)" in answer


def test_failed_call_is_reported_with_its_error() -> None:
    error = {"code": "invalid_arguments", "message": "country: bad"}
    calls = [call("failed", "XX", error=error)]
    assert response_status(calls) == "failed"
    assert "Failed: vat-rates(country=XX): invalid_arguments: country: bad" in compose(calls)


def test_output_without_summary_is_shown_as_json() -> None:
    calls = [call("ok", "DE", output={"b": 1, "a": [2]})]
    assert compose(calls) == 'vat-rates(country=DE): {"a":[2],"b":1}'
