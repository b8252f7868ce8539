"""A micromodel started with SLMESH_SHADOW_TOPIC: a candidate under shadow evaluation
consumes its own topic in a group of its own, so it takes no live task, and replies on the
shadow's replies topic, so no live reply comes from it."""

from __future__ import annotations

import pytest
from faststream.kafka import TestKafkaBroker

from slmesh.runtime.kafka import raw_body
from slmesh.runtime.kafka.groups import micromodel_group, shadow_group
from slmesh.runtime.kafka.topics import SHADOW_REPLIES
from slmesh.runtime.micromodel import build_runner
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import TaskCompleted, TaskFailed, decode

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


async def test_a_candidate_answers_tasks_on_its_topic_and_takes_none_from_the_live_one() -> None:
    """Its tasks are copies of recorded live ones, with their proof (made for the live
    topic) and their deadline (passed)."""
    runner, consumption = build_runner(ADDER, CANDIDATE)
    replies: list[TaskCompleted | TaskFailed] = []
    live_replies: list[bytes] = []

    @runner.broker.subscriber(SHADOW_REPLIES, decoder=raw_body)
    async def on_reply(body: bytes) -> None:
        replies.append(decode(body, (TaskCompleted, TaskFailed)))  # type: ignore[arg-type]

    @runner.broker.subscriber(SETTINGS.replies_topic, decoder=raw_body)
    async def on_live_reply(body: bytes) -> None:
        live_replies.append(body)

    async with TestKafkaBroker(runner.broker) as broker:
        # A live task: no subscriber of the candidate's takes it.
        live = task({"a": 1, "b": 1})
        await broker.publish(live, SETTINGS.task_topic("adder"), key=KEY, headers=proven(live))
        # Recorded long ago: its deadline, the live request's, has passed.
        copy = task({"a": 2, "b": 3}, late=True)
        await broker.publish(copy, SHADOW_TOPIC, key=KEY, headers=proven(copy))
        await consumption.drain()
    runner.worker.shutdown()
    [reply] = replies
    assert isinstance(reply, TaskCompleted)
    assert reply.data.output == {"total": 5}
    assert live_replies == []
