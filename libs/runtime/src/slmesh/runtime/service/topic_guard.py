"""Noticing that the broker lost this service's topics, and carrying on.

The embedded broker keeps topics in memory only: when it restarts, every
topic and committed offset is gone, while the services keep running. The
clients reconnect by themselves, but a consumer of a topic that no longer
exists waits for ever, and a publish to it fails. So the topics are checked
on every broker probe (the dependency watch lists them anyway):

- where this service may create topics (dev), it creates its own again, as
  it made them at start;
- elsewhere (production) it names the missing ones and waits for an
  operator to make them (`slmesh topics apply`), saying so again while they
  stay missing;
- in both cases the service's listeners are told once per loss, so that
  what depended on the old topics can react (the orchestrator forgets topics
  it knew and answers the requests whose tasks were lost).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from slmesh.runtime.kafka.topics import TopicSpec, create_topics
from slmesh.runtime.service.logs import lifecycle
from slmesh.runtime.settings import MeshSettings

logger = logging.getLogger(__name__)

TopicsLost = Callable[[list[str]], Awaitable[None]]


class TopicGuard:
    def __init__(
        self,
        settings: MeshSettings,
        topics: Iterable[TopicSpec],
        *,
        remind_every_s: float = 30.0,
    ) -> None:
        self._settings = settings
        self._topics = {topic.name: topic for topic in topics}
        self._listeners: list[TopicsLost] = []
        self._remind_every_s = remind_every_s
        # Missing topics not yet back, and when that was last said.
        self._missing: set[str] = set()
        self._said = 0.0

    def on_lost(self, listener: TopicsLost) -> None:
        self._listeners.append(listener)

    async def check(self, existing: set[str]) -> None:
        """Compare the broker's topics with this service's; mend or say what is missing."""
        missing = sorted(name for name in self._topics if name not in existing)
        newly = [name for name in missing if name not in self._missing]
        if not missing:
            if self._missing:
                lifecycle.info("topics back: %s", ", ".join(sorted(self._missing)))
            self._missing = set()
            return
        if newly:
            lifecycle.warning(
                "the broker no longer has topics %s (it restarted and lost them?)",
                ", ".join(newly),
            )
        self._missing.update(missing)
        if newly:
            # Told before the topics are made again: what was lost is told apart from
            # what comes on the new topics.
            for listener in self._listeners:
                try:
                    await listener(newly)
                except Exception:
                    logger.exception("a listener of lost topics failed")
        if self._settings.topics_created_here:
            await self._create(missing)
        elif newly or time.monotonic() - self._said >= self._remind_every_s:
            self._said = time.monotonic()
            lifecycle.warning(
                "waiting for topics %s: this service creates none here; run `slmesh topics apply`",
                ", ".join(missing),
            )

    async def _create(self, missing: list[str]) -> None:
        await create_topics(self._settings, [self._topics[name] for name in missing])
        lifecycle.info("created topics %s again", ", ".join(missing))
        self._missing.difference_update(missing)
