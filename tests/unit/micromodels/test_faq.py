"""The faq micromodel (policy questions answered, everything else declined, the policy file
and its setting) and the customer-service pipeline that asks it first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from slmesh.faq.form import read_form
from slmesh.faq.matcher import MATCH_SCORE, FaqAnswer, FaqMatcher, FaqQuestion, describe
from slmesh.faq.micromodel import build
from slmesh.faq.policy import POLICY_SETTING, PolicyFileError, load_policy
from slmesh.faq.words import stem
from slmesh.orchestrator.pipelines import Settled, advance, shape, step_results
from slmesh.orchestrator.pipelines.tool import pipeline_view
from slmesh.orchestrator.planning.plan import ToolView
from slmesh.orchestrator.planning.rules import RulesPlanner
from slmesh.runtime.pipeline_files import input_problem, load_pipeline, output_problem
from slmesh.schemas import CallOutcome, ErrorInfo
from slmesh.summarizer.micromodel import build as build_summarizer

ROOT = Path(__file__).parents[3]
PIPELINE = ROOT / "pipelines" / "customer-service.yaml"
TRIAGE = ROOT / "pipelines" / "support-triage.yaml"
EXAMPLE = ROOT / "examples" / "pipelines" / "customer-service.json"
TOPICS = {
    "refunds", "returns", "shipping", "order-tracking", "payment-methods", "cancellation",
    "warranty", "contact", "account-access", "price-match",
}  # fmt: skip


@pytest.fixture(scope="module")
def matcher() -> FaqMatcher:
    return FaqMatcher(load_policy())


def ask(matcher: FaqMatcher, text: str) -> FaqAnswer:
    return matcher.answer(FaqQuestion(question=text))


# --- policy questions are answered ---------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("What's your refund policy?", "refunds"),
        ("How long does a refund take to come through?", "refunds"),
        ("Can I get my money back if I change my mind?", "refunds"),
        ("refund policy", "refunds"),
        ("How do I send back an item?", "returns"),
        ("Can I exchange shoes for a bigger size?", "returns"),
        ("What if my parcel arrives damaged?", "returns"),
        ("how long does delivery take", "shipping"),
        ("Do you ship to Norway?", "shipping"),
        ("How much is postage to Germany?", "shipping"),
        ("Where is my order?", "order-tracking"),
        ("How do I track my parcel?", "order-tracking"),
        ("can I pay with PayPal?", "payment-methods"),
        ("Do you accept Amex?", "payment-methods"),
        ("Is it possible to pay in instalments?", "payment-methods"),
        ("Can I cancel my order?", "cancellation"),
        ("Is it too late to cancel my subscription?", "cancellation"),
        ("What warranty comes with your laptops?", "warranty"),
        ("What happens if my kettle stops working after a year?", "warranty"),
        ("How can I contact you?", "contact"),
        ("What are your opening hours?", "contact"),
        ("I forgot my password, what should I do?", "account-access"),
        ("How do I log in to my account?", "account-access"),
        ("Do you price match?", "price-match"),
        ("I'd like to know if you match a competitor's price.", "price-match"),
        ("Thanks for the quick reply! How do I return a jacket?", "returns"),
    ],
)
def test_a_policy_question_is_answered_from_its_topic(
    matcher: FaqMatcher, question: str, topic: str
) -> None:
    answer = ask(matcher, question)
    assert answer.matched, answer
    assert answer.topic == topic
    assert answer.answer == next(e.answer for e in matcher.policy.entries if e.id == topic)
    assert MATCH_SCORE <= answer.score <= 1
    assert answer.policy_version == matcher.policy.version


# --- everything else is declined -----------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        # Complaints and stories of a bad experience, on a policy topic or not.
        "I'm unhappy with my purchase, what can you do for me?",
        "my parcel arrived smashed and I want my money back now",
        "My order still hasn't arrived, where is it?",
        "Why does my delivery always arrive late?",
        "I was charged twice for my order and nobody answers.",
        "The headphones I bought stopped working after a week and I'm really disappointed.",
        "Your service is terrible. How do I get a refund?",
        "Parcel arrived smashed.",
        # Demands and requests for compensation.
        "I want a refund.",
        "What are you going to do about my broken blender?",
        "I expect some compensation for the delay.",
        # Praise.
        "Thanks so much, the headphones are great!",
        "Great delivery!",
        "Love the new jacket, the return process was easy too.",
        # Chit-chat and anything without a policy topic.
        "Hi there, how are you today?",
        "What's the weather like?",
        "Do you like football?",
        "Can you tell me a joke?",
    ],
)
def test_anything_but_a_policy_question_is_declined(matcher: FaqMatcher, message: str) -> None:
    answer = ask(matcher, message)
    assert not answer.matched, answer
    assert answer.topic is None
    assert answer.answer is None
    assert answer.score < MATCH_SCORE


def test_a_grievance_scores_zero_whatever_topic_it_names(matcher: FaqMatcher) -> None:
    # The refunds topic is named plainly; it is still a complaint, not the FAQ.
    answer = ask(matcher, "My blender arrived broken, what is your refund policy?")
    assert not answer.matched
    assert answer.score == 0


@pytest.mark.parametrize(
    ("message", "why"),
    [
        ("I'm so frustrated with you", "strong feeling"),
        ("my lamp arrived cracked", "something went wrong for the customer"),
        ("what can you do for me?", "asks for compensation"),
        ("I want my money back right now.", "a demand"),
    ],
)
def test_the_form_says_why_a_message_is_a_grievance(message: str, why: str) -> None:
    assert read_form(message).grievance == why


def test_a_supposition_is_a_question_not_a_grievance() -> None:
    form = read_form("What if my order arrives damaged?")
    assert form.grievance is None
    assert form.is_policy_question


def test_inflections_share_one_stem() -> None:
    assert {stem(w) for w in ("refund", "refunds", "refunded", "refunding")} == {"refund"}
    assert stem("shipping") == stem("ship") == stem("shipped")
    assert stem("cancelled") == stem("cancelling")
    assert stem("policies") == stem("policy")


def test_the_summary_line_quotes_the_answer_or_says_there_is_none(matcher: FaqMatcher) -> None:
    assert describe(ask(matcher, "Do you price match?")).startswith("We match the price")
    assert describe(ask(matcher, "hello")) == f"No policy answer (policy {matcher.policy.version})."


# --- the request is bounded ----------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [{"question": ""}, {"question": "x" * 2001}, {"question": "hi", "lang": "en"}, {}],
)
def test_a_bad_request_is_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        FaqQuestion.model_validate(payload)


def test_the_longest_question_is_answered_at_once(matcher: FaqMatcher) -> None:
    answer = ask(matcher, ("How do I return an item? " * 100)[:2000])
    assert answer.matched
    assert answer.topic == "returns"


# --- the policy file -----------------------------------------------------------------------


def test_the_shipped_policy_has_exactly_the_ten_topics() -> None:
    policy = load_policy()
    assert {e.id for e in policy.entries} == TOPICS
    assert len(policy.entries) == len(TOPICS)
    assert policy.version


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """version: 7
entries:
  - id: opening-hours
    keywords: [open, opening hours]
    questions: ["When are you open?"]
    answer: Every day from 9 to 5.
"""


def test_an_operator_policy_is_read_from_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(POLICY_SETTING, str(write(tmp_path, GOOD)))
    micromodel = build()
    assert micromodel.name == "faq"
    assert micromodel.blocking is False
    assert micromodel.handler is not None
    answer = micromodel.handler(FaqQuestion(question="When are you open?"))
    assert isinstance(answer, FaqAnswer)
    assert (answer.matched, answer.topic, answer.policy_version) == (True, "opening-hours", "7")
    assert micromodel.handler(FaqQuestion(question="What's your refund policy?")).matched is False


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("version: 1\nentries: [\n", "not YAML"),
        ("- just\n- a list\n", "not a mapping"),
        ("entries: []\n", "version: Field required"),
        ("version: 1\nentries: []\n", "entries: List should have at least 1 item"),
        (GOOD + "  - id: opening-hours\n    keywords: [x]\n    answer: y\n", "two entries"),
        (GOOD.replace("answer:", "reply:"), "entries.0.answer: Field required"),
        (GOOD.replace("[open, opening hours]", "['?!']"), "has no word in it"),
        (GOOD.replace("id: opening-hours", "id: Opening Hours"), "entries.0.id"),
    ],
)
def test_a_bad_policy_file_is_named_with_its_problem(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PolicyFileError) as caught:
        load_policy(path)
    assert str(path) in str(caught.value)
    assert problem in str(caught.value)


def test_a_missing_policy_file_stops_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere.yaml"
    monkeypatch.setenv(POLICY_SETTING, str(missing))
    with pytest.raises(PolicyFileError, match=f"{missing}: cannot be read"):
        build()


def test_the_service_does_not_start_on_a_bad_policy(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\n")
    environment = {**os.environ, POLICY_SETTING: str(path)}
    done = subprocess.run(
        [sys.executable, "-m", "slmesh.faq"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3
    assert f"micromodel faq cannot start: policy file {path}: entries" in done.stderr


# --- the customer-service pipeline ---------------------------------------------------------


def called(step: str, micromodel: str, output: dict[str, Any]) -> tuple[str, CallOutcome]:
    call = CallOutcome(
        task_id=f"r:{step}", micromodel=micromodel, arguments={}, status="ok", output=output
    )
    return step, call


def label(name: str) -> dict[str, Any]:
    """A classifier's output that picked `name`."""
    return {"label": name, "confidence": 0.9, "scores": {name: 0.9}}


def faq_call(matcher: FaqMatcher, message: str) -> tuple[str, CallOutcome]:
    answer = ask(matcher, message).model_dump(mode="json")
    return called("faq", "faq", answer)


def test_the_pipeline_loads_with_the_faq_first_and_a_switch_on_its_match() -> None:
    pipeline = load_pipeline(PIPELINE)
    assert pipeline.name == "customer-service"
    assert [(s.id, s.micromodel) for s in pipeline.steps] == [
        ("faq", "faq"),
        ("intent", "classifier"),
        ("sentiment", "classifier"),
        ("reply", "replier"),
    ]
    for step in pipeline.steps[1:3]:
        assert step.when is not None
        assert (step.when.at, step.when.equals) == ("/steps/faq/matched", False)
    labels = {s.id: s.arguments["labels"] for s in pipeline.steps[1:3]}
    assert labels == {
        "intent": ["complaint", "question", "praise"],
        "sentiment": ["neutral", "negative", "positive"],
    }
    assert input_problem(pipeline, {"message": "hi"}) is None
    assert input_problem(pipeline, {"text": "hi"}) is not None
    assert input_problem(pipeline, {"message": "x" * 2001}) is not None


def test_each_step_call_fits_its_micromodels_input() -> None:
    from slmesh.classifier.micromodel import ClassificationRequest
    from slmesh.replier.micromodel import ReplyRequest

    pipeline = load_pipeline(PIPELINE)
    for step in pipeline.steps[1:3]:
        ClassificationRequest.model_validate({**step.arguments, "text": "a message"})
    ReplyRequest.model_validate({"message": "m", "intent": "complaint", "sentiment": "negative"})


def test_a_policy_question_is_answered_by_the_faq_alone(matcher: FaqMatcher) -> None:
    pipeline = load_pipeline(PIPELINE)
    arguments = {"message": "What's your refund policy?"}
    first = advance(pipeline, arguments, {}, {})
    assert [(c.label, c.arguments) for c in first.calls] == [
        ("faq", {"question": "What's your refund policy?"})
    ]
    answered = dict([faq_call(matcher, arguments["message"])])
    second = advance(pipeline, arguments, {}, answered)
    assert second.calls == []
    assert {k: v.status for k, v in second.settled.items()} == {
        "intent": "skipped",
        "sentiment": "skipped",
        "reply": "skipped",
    }
    shaped = shape(pipeline, arguments, step_results(pipeline, second.settled, answered))
    version = matcher.policy.version
    assert shaped.answer is not None
    assert shaped.answer.startswith("Refunds go back to the original payment method")
    assert shaped.output is not None
    assert shaped.output["faq_matched"] is True
    assert shaped.output["topic"] == "refunds"
    assert shaped.output["policy_version"] == version
    assert shaped.output["answer"] == shaped.answer
    # The reply branch was not taken: its fields are left out, not null.
    assert not {"intent", "sentiment", "reply", "reply_topic"} & set(shaped.output)
    assert output_problem(pipeline, shaped.output) is None
    assert shaped.problems == []


def test_a_complaint_is_sorted_then_replied_to(matcher: FaqMatcher) -> None:
    pipeline = load_pipeline(PIPELINE)
    message = "I'm unhappy with my purchase, what can you do for me?"
    arguments = {"message": message}
    answered = dict([faq_call(matcher, message)])
    second = advance(pipeline, arguments, {}, answered)
    # Both classifiers go out together, in one round.
    assert [c.label for c in second.calls] == ["intent", "sentiment"]
    assert all(c.arguments["text"] == message for c in second.calls)
    answered.update(
        [
            called("intent", "classifier", {"label": "complaint", "confidence": 0.8, "scores": {}}),
            called(
                "sentiment", "classifier", {"label": "negative", "confidence": 0.9, "scores": {}}
            ),
        ]
    )
    third = advance(pipeline, arguments, {}, answered)
    assert [(c.label, c.arguments) for c in third.calls] == [
        ("reply", {"message": message, "intent": "complaint", "sentiment": "negative"})
    ]
    reply = "We are very sorry to hear about the trouble with your purchase. Thank you."
    answered.update(
        [
            called(
                "reply",
                "replier",
                {"reply": reply, "words": 14, "truncated": False, "topic": "purchase"},
            )
        ]
    )
    shaped = shape(pipeline, arguments, step_results(pipeline, {}, answered))
    assert shaped.answer == reply
    assert shaped.output == {
        "faq_matched": False,
        "topic": None,
        "faq_score": 0.0,
        "policy_version": matcher.policy.version,
        "answer": None,
        "intent": "complaint",
        "sentiment": "negative",
        "reply": reply,
        "reply_topic": "purchase",
    }
    assert output_problem(pipeline, shaped.output) is None


def test_a_reply_that_fails_is_said_not_passed_off_as_the_faq(matcher: FaqMatcher) -> None:
    pipeline = load_pipeline(PIPELINE)
    arguments = {"message": "My parcel arrived smashed!"}
    answered = dict([faq_call(matcher, arguments["message"])])
    answered.update(
        [
            called("intent", "classifier", label("complaint")),
            called("sentiment", "classifier", label("negative")),
        ]
    )
    error = ErrorInfo.about("handler_error", "the model failed")
    answered["reply"] = CallOutcome(
        task_id="r:reply", micromodel="replier", arguments={}, status="failed", error=error
    )
    settled: dict[str, Settled] = {}
    shaped = shape(pipeline, arguments, step_results(pipeline, settled, answered))
    assert shaped.answer is not None
    # Not the faq's null answer: the reply branch's own apology.
    assert shaped.answer.startswith("Sorry, we could not write a reply to your message just now")
    # The reply failed: no output is made up, and the problem says which field.
    assert shaped.output is None
    assert any("'reply'" in p for p in shaped.problems)


@pytest.mark.parametrize(
    "request_text",
    [
        "Answer this customer: my parcel arrived smashed and I want my money back now",
        "Customer service: a customer asks what your refund policy is",
        "Reply to this customer: thanks, the headphones are great!",
    ],
)
async def test_the_planner_sends_customer_messages_to_the_pipeline(request_text: str) -> None:
    tools = {
        "customer-service": pipeline_view(load_pipeline(PIPELINE)),
        "support-triage": pipeline_view(load_pipeline(TRIAGE)),
        "faq": ToolView.of(build()),
        "summarizer": ToolView.of(build_summarizer()),
    }
    plan = await RulesPlanner().plan(request_text, tools)
    assert [call.micromodel for call in plan.calls] == ["customer-service"]
    assert plan.calls[0].arguments["message"]


async def test_triage_stays_with_support_triage() -> None:
    tools = {
        "customer-service": pipeline_view(load_pipeline(PIPELINE)),
        "support-triage": pipeline_view(load_pipeline(TRIAGE)),
    }
    plan = await RulesPlanner().plan(
        "Triage this customer message: I was charged twice for the same order and nobody answers",
        tools,
    )
    assert [call.micromodel for call in plan.calls] == ["support-triage"]


def test_the_example_runs_the_pipeline_with_its_message() -> None:
    example = yaml.safe_load(EXAMPLE.read_text())
    pipeline = load_pipeline(PIPELINE)
    assert example["pipeline"] == pipeline.name
    assert input_problem(pipeline, example["arguments"]) is None
