"""A micromodel started with SLMESH_SHADOW_TOPIC: a candidate under shadow evaluation
consumes its own topic in a group of its own, so it takes no live task; it believes the
operator's tasks there (`slmesh shadow` rewrites and proves them) and replies on the shadow's
replies topic, so no live reply comes from it."""

from __future__ import annotations

import pytest
from faststream.kafka import KafkaMessage, TestKafkaBroker

from slmesh.runtime.kafka import message_itself, raw_body
from slmesh.runtime.kafka.groups import micromodel_group, shadow_group
from slmesh.runtime.kafka.topics import SHADOW_REPLIES
from slmesh.runtime.micromodel import build_runner
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import TaskCompleted, TaskFailed, decode
from tests.support.binary_mode import as_text
from tests.support.proofs import proven as proven_by

from .test_sdk import ADDER, KEY, SETTINGS, proven, task

SHADOW_TOPIC = "slmesh.shadow.adder"
CANDIDATE = SETTINGS.model_copy(update={"shadow_topic": SHADOW_TOPIC})


def test_the_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLMESH_SHADOW_TOPIC", SHADOW_TOPIC)
    assert MeshSettings().shadow_topic == SHADOW_TOPIC
    monkeypatch.delenv("SLMESH_SHADOW_TOPIC")
    assert MeshSettings().shadow_topic is None


def test_a_candidate_consumes_its_own_topic_in_a_group_that_is_never_the_live_one() -> None:
    live_runner, live = build_runner(ADDER, SETTINGS)
    candidate_runner, candidate = build_runner(ADDER, CANDIDATE)
    live_runner.worker.shutdown()
    candidate_runner.worker.shutdown()
    assert live.group == micromodel_group("adder")
    assert candidate.group == shadow_group("adder") != live.group
    assert candidate.subscriber is not None
    assert candidate.subscriber.topic_names == [SHADOW_TOPIC]
    assert live.subscriber is not None
    assert live.subscriber.topic_names == [SETTINGS.task_topic("adder")]


def by_operator(value: bytes) -> dict[str, str]:
    """A shadow task as `slmesh shadow` writes it: proven by the operator, for adder's
    identity, on the shadow topic."""
    return as_text(proven_by("operator", SHADOW_TOPIC, KEY, value, to="adder"))


async def test_a_candidate_answers_the_operators_tasks_on_the_shadow_replies_topic_alone() -> None:
    """Nothing of the live flow reaches it, and nothing of it reaches the live flow."""
    runner, consumption = build_runner(ADDER, CANDIDATE)
    replies: list[TaskCompleted | TaskFailed] = []
    live_replies: list[bytes] = []
    dead: list[KafkaMessage] = []

    @runner.broker.subscriber(SHADOW_REPLIES, decoder=raw_body)
    async def on_reply(body: bytes) -> None:
        replies.append(decode(body, (TaskCompleted, TaskFailed)))  # type: ignore[arg-type]

    @runner.broker.subscriber(SETTINGS.replies_topic, decoder=raw_body)
    async def on_live_reply(body: bytes) -> None:
        live_replies.append(body)

    @runner.broker.subscriber(SETTINGS.deadletter_topic, decoder=message_itself)
    async def on_dead(message: KafkaMessage) -> None:
        dead.append(message)

    async with TestKafkaBroker(runner.broker) as broker:
        # A live task: no subscriber of the candidate's takes it.
        live = task({"a": 1, "b": 1})
        await broker.publish(live, SETTINGS.task_topic("adder"), key=KEY, headers=proven(live))
        shadow = task({"a": 2, "b": 3}, reply_topic=SHADOW_REPLIES)
        await broker.publish(shadow, SHADOW_TOPIC, key=KEY, headers=by_operator(shadow))
        # A live task copied as it is: its proof is the orchestrator's, for the live topic.
        await broker.publish(live, SHADOW_TOPIC, key=KEY, headers=proven(live))
        # The operator's task naming the live replies topic: not answered there.
        astray = task({"a": 3, "b": 3})
        await broker.publish(astray, SHADOW_TOPIC, key=KEY, headers=by_operator(astray))
        await consumption.drain()
    runner.worker.shutdown()
    [reply] = replies
    assert isinstance(reply, TaskCompleted)
    assert reply.data.output == {"total": 5}
    assert live_replies == []
    codes = sorted(letter.headers["slmesh-error-code"] for letter in dead)
    assert codes == ["unauthenticated_task", "unknown_reply_topic"]
