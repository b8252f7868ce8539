"""Where `slmesh dlq requeue` may write a dead letter, what it keeps of it, and when it asks."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from slmesh.cli.commands.dlq.confirmation import Consent, consent
from slmesh.cli.commands.dlq.destinations import plan_requeue, refusal, refused_line
from slmesh.runtime.kafka.deadletters import REQUEUED_FROM, DeadLetter, original_headers
from slmesh.runtime.kafka.publishing import DLQ_ERROR, DLQ_ERROR_CODE, DLQ_TOPIC
from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.trust import PROOF_HEADER, SIGNER_HEADER

SETTINGS = MeshSettings()


def letter(topic: str | None, offset: int = 1, headers: dict[str, str] | None = None) -> DeadLetter:
    named = {DLQ_TOPIC: topic} if topic is not None else {}
    return DeadLetter(
        partition=0,
        offset=offset,
        timestamp=datetime(2026, 12, 1, tzinfo=UTC),
        key=b"req-1",
        value=b"{}",
        headers={DLQ_ERROR_CODE: "invalid_event", DLQ_ERROR: "bad", **named, **(headers or {})},
    )


@pytest.mark.parametrize(
    "topic",
    ["slmesh.requests", "slmesh.replies", "slmesh.tasks.vat-rates", "slmesh.tasks.a"],
)
def test_the_topics_the_mesh_consumes_are_destinations(topic: str) -> None:
    assert refusal(topic, SETTINGS) is None


@pytest.mark.parametrize(
    ("topic", "why"),
    [
        (None, "names no original topic"),
        ("slmesh.deadletter", "the dead-letter topic itself"),
        ("slmesh.registry", "the registry"),
        ("slmesh.responses", "a response topic"),
        ("slmesh.responses.someone", "a response topic"),
        ("slmesh.tasks.", "no valid micromodel name"),
        ("slmesh.tasks.Vat", "no valid micromodel name"),
        ("slmesh.tasks.vat.rates", "no valid micromodel name"),
        ("slmesh.tasks.vat-rates\n", "no valid micromodel name"),
        ("slmesh.shadow.vat-rates", "no mesh topic"),
        ("erp.slmesh-responses", "no mesh topic"),
        ("__consumer_offsets", "no mesh topic"),
    ],
)
def test_every_other_topic_is_refused_with_why(topic: str | None, why: str) -> None:
    reason = refusal(topic, SETTINGS)
    assert reason is not None
    assert why in reason


def test_a_tasks_prefix_overlapping_other_names_does_not_open_them() -> None:
    settings = MeshSettings(tasks_prefix="slmesh.")
    assert refusal("slmesh.vat-rates", settings) is None
    for topic in ("slmesh.registry", "slmesh.deadletter", "slmesh.responses"):
        assert refusal(topic, settings) is not None


def test_configured_topic_names_are_the_ones_judged() -> None:
    settings = MeshSettings(requests_topic="acme.requests", responses_topic="acme.responses")
    assert refusal("acme.requests", settings) is None
    assert refusal("slmesh.requests", settings) is not None
    assert refusal("acme.responses.erp", settings) is not None


def test_a_plan_splits_the_chosen_and_counts_each_destination() -> None:
    good = [letter("slmesh.requests", 1), letter("slmesh.tasks.echo", 2), letter("slmesh.requests")]
    bad = letter("slmesh.responses.someone", 3)
    plan = plan_requeue([good[0], bad, good[1], good[2]], SETTINGS)
    assert plan.requeued == good
    assert [(d, "response topic" in why) for d, why in plan.refused] == [(bad, True)]
    assert plan.topics() == {"slmesh.requests": 2, "slmesh.tasks.echo": 1}
    line = refused_line(bad, plan.refused[0][1])
    assert line.startswith("skipped 0:3 (to 'slmesh.responses.someone'): it names a response")


def test_a_refusal_line_quotes_a_crafted_name_as_data() -> None:
    crafted = letter("x" * 500 + "\nrequeued 0:9 to slmesh.requests")
    line = refused_line(crafted, "why")
    assert "\n" not in line
    assert len(line) < 200


def test_a_requeued_letter_keeps_the_records_headers_and_proof_not_the_dead_letters() -> None:
    proven = letter(
        "slmesh.requests",
        headers={
            "content-type": "application/json",
            "ce_specversion": "1.0",
            SIGNER_HEADER: "dev",
            PROOF_HEADER: "mac:AAAA",
            "traceparent": "00-x",
            REQUEUED_FROM: "slmesh.deadletter:0:0",
        },
    )
    assert original_headers(proven) == [
        ("content-type", b"application/json"),
        ("ce_specversion", b"1.0"),
        (SIGNER_HEADER, b"dev"),
        (PROOF_HEADER, b"mac:AAAA"),
        ("traceparent", b"00-x"),
    ]
    # A structured event whose dead letter kept no content type gets the mesh's.
    assert original_headers(letter("slmesh.requests")) == [
        ("content-type", b"application/cloudevents+json; charset=UTF-8")
    ]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_yes_is_given_without_asking_and_no_terminal_is_no_consent() -> None:
    prompt = io.StringIO()
    assert consent("go? [y/N]", assumed=True, stdin=io.StringIO(), prompt_to=prompt) is (
        Consent.GIVEN
    )
    assert prompt.getvalue() == ""
    assert consent("go? [y/N]", assumed=False, stdin=io.StringIO("y\n")) is Consent.NO_TERMINAL


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("y\n", Consent.GIVEN),
        ("YES\n", Consent.GIVEN),
        ("\n", Consent.DECLINED),
        ("", Consent.DECLINED),
        ("n\n", Consent.DECLINED),
        ("yep\n", Consent.DECLINED),
    ],
)
def test_on_a_terminal_only_y_or_yes_consents(typed: str, answer: Consent) -> None:
    prompt = io.StringIO()
    given = consent(
        "requeue 2 dead letters? [y/N]", assumed=False, stdin=Terminal(typed), prompt_to=prompt
    )
    assert given is answer
    assert prompt.getvalue() == "requeue 2 dead letters? [y/N] "
