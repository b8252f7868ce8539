"""The composer: quotes micromodel summaries verbatim, names what failed or is missing; the
model (real inference) only writes the opening sentence."""

from __future__ import annotations

from typing import Any

import pytest

from slmesh.orchestrator.composer import FALLBACK_LEAD, ModelComposer, opening
from slmesh.orchestrator.composition import compose, compose_answer
from slmesh.orchestrator.outcomes import response_status
from slmesh.runtime.concurrency import Worker
from slmesh.runtime.llm import LocalModel, ModelSettings
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


def test_an_opening_with_a_number_is_replaced_by_a_fixed_one() -> None:
    assert opening("Here is the VAT rate in Spain. More text") == "Here is the VAT rate in Spain."
    assert opening("Here is the VAT rate of 21% in Spain.") == FALLBACK_LEAD
    assert opening("Here.") == FALLBACK_LEAD


@pytest.mark.model
async def test_the_model_opens_the_answer_and_the_results_follow_verbatim() -> None:
    worker = Worker("composer-test")
    composer = ModelComposer(LocalModel.load(ModelSettings()), worker)
    calls = [
        call("ok", "DE", summary="Germany (DE): standard 19%, reduced 7%", output={}),
        call("missing", "ES"),
    ]
    try:
        opened = await composer.opening("What are the VAT rates in Germany and Spain?")
    finally:
        worker.shutdown()
    written = compose_answer(calls, opened)
    failed = compose_answer([call("missing", "ES")], opened)
    lead, *rest = written.answer.split("\n")
    assert lead.startswith("Here")
    assert not any(ch.isdigit() for ch in lead)
    # Said plainly by the fixed sentence, then the figures exactly as the micromodel gave them.
    assert rest[0] == "Partial answer: 1 of 2 calls answered."
    assert rest[1] == "Germany (DE): standard 19%, reduced 7%"
    assert written.composer == f"template+{composer.model.id}"
    assert written.work is not None
    assert written.work.tokens.completion > 0
    # Nothing answered: nothing to introduce; the fixed sentence alone says so.
    assert failed.composer == "template"
    assert failed.work is None
    assert failed.answer.startswith("No answer")
