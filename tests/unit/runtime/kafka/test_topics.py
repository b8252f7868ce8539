"""What the broker answers to a topic creation, per topic, is read: a refusal is an error.

aiokafka raises nothing when a broker refuses a topic (too few brokers for the
replication factor, a policy): each topic's error code is in the response. The
embedded broker refuses nothing, so its answer is played here.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from slmesh.runtime.kafka import (
    MissingTopicsError,
    TopicCreationError,
    TopicSpec,
    create_topics,
    topics,
)
from slmesh.runtime.service import dependencies
from slmesh.runtime.settings import MeshSettings

INVALID_REPLICATION_FACTOR = 38
TOPIC_ALREADY_EXISTS = 36


def broker_answering(errors: list[tuple[Any, ...]]) -> type:
    class Admin:
        def __init__(self, **_: Any) -> None:
            pass

        async def start(self) -> None:
            pass

        async def close(self) -> None:
            pass

        async def list_topics(self) -> list[str]:
            return []

        async def create_topics(self, new_topics: list[Any]) -> Any:
            return SimpleNamespace(topic_errors=errors)

    return Admin


async def test_created_and_raced_topics_are_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = [("a", 0, None), ("b", TOPIC_ALREADY_EXISTS, "exists")]
    monkeypatch.setattr(topics, "AIOKafkaAdminClient", broker_answering(answer))
    assert await create_topics(MeshSettings(), [TopicSpec("a"), TopicSpec("b")]) == ["a"]


async def test_a_refused_topic_is_an_error_naming_it_and_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answer = [
        ("a", 0, None),
        ("b", INVALID_REPLICATION_FACTOR, "Replication factor: 3 larger than brokers: 1."),
        ("c", INVALID_REPLICATION_FACTOR, None),
    ]
    monkeypatch.setattr(topics, "AIOKafkaAdminClient", broker_answering(answer))
    settings = MeshSettings(deployment="production")
    with pytest.raises(TopicCreationError) as refused:
        await create_topics(settings, [TopicSpec("a"), TopicSpec("b"), TopicSpec("c")])
    message = str(refused.value)
    assert "b: Replication factor: 3 larger than brokers: 1." in message
    assert "c: InvalidReplicationFactorError" in message
    assert "replication 3, min.insync.replicas 2" in message
    assert "a:" not in message


async def test_in_production_a_service_waits_for_its_topics_naming_the_missing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    on_broker: list[set[str]] = [set(), {"a"}, {"a", "b"}]
    seen: list[set[str]] = []

    async def listed(settings: MeshSettings) -> set[str]:
        seen.append(on_broker[min(len(seen), len(on_broker) - 1)])
        return seen[-1]

    monkeypatch.setattr(dependencies, "list_topics", listed)
    monkeypatch.setattr(dependencies, "FIRST_DELAY_S", 0.01)
    production = MeshSettings(deployment="production", startup_wait_s=5)
    specs = [TopicSpec("a"), TopicSpec("b")]
    await dependencies.prepare_topics(production, specs)
    assert len(seen) == 3
    assert "waiting for topics a, b (this service creates none here" in caplog.text
    assert "waiting for topics b (" in caplog.text

    on_broker[:] = [{"a"}]
    seen.clear()
    impatient = MeshSettings(deployment="production", startup_wait_s=0.05)
    with pytest.raises(MissingTopicsError, match=r"topics missing after 0.05 s: b; create them"):
        await dependencies.prepare_topics(impatient, specs)
