"""A requester's own reply topic: made on first use in development, never in production."""

from __future__ import annotations

import pytest

from slmesh.orchestrator import responder
from slmesh.orchestrator.responder import ReplyTopics
from slmesh.orchestrator.settings import OrchestratorSettings
from slmesh.runtime.kafka import TopicDirectory


class NoTopicsYet(TopicDirectory):
    """A broker with none of the requesters' topics."""

    async def exists(self, topic: str) -> bool:
        return topic in self._known


@pytest.fixture
def created(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    made: list[str] = []

    async def ensure_topics(settings: object, names: list[str], **_: object) -> list[str]:
        made.extend(names)
        return names

    monkeypatch.setattr(responder, "ensure_topics", ensure_topics)
    return made


@pytest.mark.parametrize(
    ("settings", "makes"),
    [
        ({}, True),
        ({"deployment": "production"}, False),
        ({"deployment": "production", "create_reply_topics": True}, True),
        ({"deployment": "production", "create_topics": True}, True),
        ({"create_reply_topics": False}, False),
    ],
    ids=["dev", "production", "production-allowed", "production-creating", "dev-refused"],
)
async def test_a_missing_reply_topic_is_made_only_where_allowed(
    created: list[str], settings: dict[str, object], makes: bool
) -> None:
    config = OrchestratorSettings(**settings)  # type: ignore[arg-type]
    topics = ReplyTopics(config, NoTopicsYet(config))
    assert await topics.ready("their.replies") is makes
    assert created == (["their.replies"] if makes else [])
    # Known once made: not made twice.
    assert await topics.ready("their.replies") is makes
    assert len(created) == (1 if makes else 0)
