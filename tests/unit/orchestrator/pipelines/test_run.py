"""What a pipeline run does next: the steps that are ready, switches, maps, failures."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from slmesh.orchestrator.pipelines import Settled, advance, shape, step_results
from slmesh.schemas import CallOutcome, ErrorInfo, Pipeline


def pipeline(*steps: dict[str, Any], **more: Any) -> Pipeline:
    return Pipeline.model_validate({"name": "p", "description": "d", "steps": steps, **more})


def ok(step: str, micromodel: str, **output: Any) -> tuple[str, CallOutcome]:
    call = CallOutcome(
        task_id=f"r:{step}", micromodel=micromodel, arguments={}, status="ok", output=output
    )
    return step, call


def failed(label: str, micromodel: str, message: str) -> tuple[str, CallOutcome]:
    error = ErrorInfo.about("invalid_arguments", message)
    call = CallOutcome(
        task_id=f"r:{label}", micromodel=micromodel, arguments={}, status="failed", error=error
    )
    return label, call


TRIAGE = pipeline(
    {
        "id": "intent",
        "micromodel": "classifier",
        "arguments": {"labels": ["complaint", "question"]},
        "take": {"text": "/input/text"},
    },
    {
        "id": "gist",
        "micromodel": "summarizer",
        "when": {"at": "/steps/intent/label", "equals": "complaint"},
        "take": {"text": "/input/text"},
    },
    {"id": "tag", "micromodel": "classifier", "take": {"text": "/steps/gist/summary"}},
    answer=["Complaint: {/steps/gist/summary}", "A {/steps/intent/label}."],
    output={"intent": "/steps/intent/label"},
)


def test_the_first_round_calls_the_steps_that_read_only_the_input() -> None:
    first = advance(TRIAGE, {"text": "I was charged twice"}, {}, {})
    assert [(c.label, c.micromodel) for c in first.calls] == [("intent", "classifier")]
    assert first.calls[0].arguments == {
        "labels": ["complaint", "question"],
        "text": "I was charged twice",
    }
    assert first.settled == {}


def test_a_switch_takes_its_branch_and_the_next_round_waits_for_it() -> None:
    answered = dict([ok("intent", "classifier", label="complaint")])
    second = advance(TRIAGE, {"text": "charged twice"}, {}, answered)
    assert [c.label for c in second.calls] == ["gist"]
    # "tag" reads gist's output: it waits for gist's round.
    answered.update([ok("gist", "summarizer", summary="Charged twice")])
    third = advance(TRIAGE, {"text": "charged twice"}, {}, answered)
    assert [(c.label, c.arguments) for c in third.calls] == [("tag", {"text": "Charged twice"})]


def test_a_branch_not_taken_is_skipped_with_the_steps_that_read_it() -> None:
    answered = dict([ok("intent", "classifier", label="question")])
    second = advance(TRIAGE, {"text": "Where is my parcel?"}, {}, answered)
    assert second.calls == []
    assert second.settled["gist"] == Settled(
        "skipped", '/steps/intent/label is "question", not "complaint"'
    )
    assert second.settled["tag"] == Settled("skipped", "step gist was skipped")
    results = step_results(TRIAGE, second.settled, answered)
    shaped = shape(TRIAGE, {"text": "Where is my parcel?"}, results)
    # The first template reads the skipped branch: the second answers.
    assert shaped.answer == "A question."
    assert shaped.output == {"intent": "question"}


def test_a_branch_not_taken_leaves_its_output_fields_out_and_a_taken_one_fills_them() -> None:
    """A switch's output is what the branch it took gives: the gist of a complaint, none
    of a question; never a null output for a branch that was not meant to run."""
    branching = TRIAGE.model_copy(
        update={"output": {"intent": "/steps/intent/label", "gist": "/steps/gist/summary"}}
    )
    question = dict([ok("intent", "classifier", label="question")])
    settled = advance(branching, {"text": "Where is it?"}, {}, question).settled
    shaped = shape(branching, {"text": "Where is it?"}, step_results(branching, settled, question))
    assert shaped.output == {"intent": "question"}
    assert shaped.problems == []
    complaint = dict(
        [
            ok("intent", "classifier", label="complaint"),
            ok("gist", "summarizer", summary="Charged twice"),
            ok("tag", "classifier", label="complaint"),
        ]
    )
    results = step_results(branching, {}, complaint)
    assert shape(branching, {"text": "x"}, results).output == {
        "intent": "complaint",
        "gist": "Charged twice",
    }


def test_a_failed_step_leaves_the_steps_that_read_it_not_run_and_says_why() -> None:
    answered = dict([failed("intent", "classifier", "the text is empty")])
    second = advance(TRIAGE, {"text": "x"}, {}, answered)
    assert second.calls == []
    assert second.settled["gist"].status == "not_run"
    assert "step intent failed (the text is empty)" in second.settled["gist"].reason
    results = step_results(TRIAGE, second.settled, answered)
    shaped = shape(TRIAGE, {"text": "x"}, results)
    assert shaped.answer is None
    assert shaped.output is None
    assert any("/steps/intent" in p for p in shaped.problems)


def test_a_pointer_that_finds_nothing_does_not_run_its_step() -> None:
    answered = dict([ok("intent", "classifier", verdict="complaint")])
    second = advance(TRIAGE, {"text": "x"}, {}, answered)
    assert second.settled["gist"].status == "not_run"
    assert "/steps/intent has no 'label' (it has: verdict)" in second.settled["gist"].reason


MAPPED = pipeline(
    {
        "id": "rates",
        "micromodel": "vat-rates",
        "for_each": "/input/countries",
        "take": {"country": "/item"},
    },
    {"id": "digest", "micromodel": "summarizer", "take": {"text": "/steps/rates/items/1/name"}},
    output={"rates": "/steps/rates/items"},
)


def test_a_mapped_step_makes_one_call_per_item_in_one_round() -> None:
    first = advance(MAPPED, {"countries": ["DE", "FR", "IT"]}, {}, {})
    assert [(c.label, c.arguments) for c in first.calls] == [
        ("rates[0]", {"country": "DE"}),
        ("rates[1]", {"country": "FR"}),
        ("rates[2]", {"country": "IT"}),
    ]
    answered = dict(
        ok(f"rates[{i}]", "vat-rates", name=n) for i, n in enumerate(["Germany", "France", "Italy"])
    )
    second = advance(MAPPED, {"countries": ["DE", "FR", "IT"]}, {}, answered)
    assert [(c.label, c.arguments) for c in second.calls] == [("digest", {"text": "France"})]
    results = step_results(MAPPED, {}, answered)
    assert results["rates"].output == {
        "items": [{"name": "Germany"}, {"name": "France"}, {"name": "Italy"}]
    }


def test_one_failed_item_fails_the_mapped_step() -> None:
    answered = dict(
        [ok("rates[0]", "vat-rates", name="Germany"), failed("rates[1]", "vat-rates", "no")]
    )
    results = step_results(MAPPED, {}, answered)
    assert results["rates"].status == "failed"
    assert "1 of its 2 item call(s)" in results["rates"].reason


def test_an_empty_list_settles_the_mapped_step_with_no_call() -> None:
    first = advance(MAPPED, {"countries": []}, {}, {})
    assert first.settled["rates"] == Settled("ok", "/input/countries is an empty list")
    assert first.settled["digest"].status == "not_run"


def test_a_list_that_is_not_one_is_said() -> None:
    first = advance(MAPPED, {"countries": "DE"}, {}, {})
    assert first.settled["rates"] == Settled("not_run", "/input/countries is a str, not a list")


@pytest.mark.parametrize(
    ("steps", "problem"),
    [
        ([{"id": "a", "micromodel": "m", "take": {"t": "/steps/b/x"}}], "not declared before"),
        (
            [{"id": "a", "micromodel": "m"}, {"id": "a", "micromodel": "m"}],
            "declared twice",
        ),
        ([{"id": "a", "micromodel": "m", "take": {"t": "/item"}}], "has no for_each"),
        ([{"id": "a", "micromodel": "m", "take": {"t": "/secrets/x"}}], "String should match"),
        (
            [{"id": "a", "micromodel": "m", "when": {"at": "/input/x"}}],
            "exactly one of equals and one_of",
        ),
    ],
)
def test_a_pipeline_that_cannot_run_is_refused_when_declared(
    steps: list[dict[str, Any]], problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        pipeline(*steps)


def test_an_answer_template_reading_an_unknown_step_is_refused() -> None:
    with pytest.raises(ValidationError, match="'nope', which is not declared"):
        pipeline({"id": "a", "micromodel": "m"}, answer=["{/steps/nope/x}"])
