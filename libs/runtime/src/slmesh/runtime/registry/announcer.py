"""A replica's voice in the registry: up at start, every heartbeat, down at stop.

A micromodel replica announces itself; an orchestrator replica, each pipeline it runs."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from typing import TYPE_CHECKING, Any, Literal

from slmesh.runtime.kafka import TopicSpec
from slmesh.runtime.kafka.publishing import publish_event
from slmesh.runtime.registry.admission import pipeline_key
from slmesh.schemas import MicromodelAnnounced, PipelineAnnounced

if TYPE_CHECKING:
    from faststream.kafka import KafkaBroker

    from slmesh.runtime.settings import MeshSettings
    from slmesh.runtime.trust import MeshParty

logger = logging.getLogger(__name__)

# The registry is a table: the last announcement per replica is all a reader needs. Its
# records are stamped by the broker when it appends them, not by their producer: a reader
# judges a replica's liveness by that stamp (catalogue), and a producer's clock could be
# anything. (The embedded broker, Tansu, keeps the config but stamps records with the
# producer's time all the same: the reader takes no stamp later than when it read it.)
REGISTRY_TOPIC_CONFIGS = {"cleanup.policy": "compact", "message.timestamp.type": "LogAppendTime"}

# What a micromodel without a model announces as its model.
DETERMINISTIC = "deterministic"


def registry_topic_spec(settings: MeshSettings) -> TopicSpec:
    """The registry topic as it is created. One partition: every reader reads all of it
    anyway, and order per key is kept."""
    return TopicSpec(settings.registry_topic, 1, dict(REGISTRY_TOPIC_CONFIGS))


class Announcer:
    """A replica's voice in the registry: a micromodel's card, or (`pipeline`) the card of a
    pipeline an orchestrator replica runs."""

    def __init__(
        self,
        broker: KafkaBroker,
        settings: MeshSettings,
        party: MeshParty,
        card: dict[str, Any],
        *,
        pipeline: bool = False,
    ) -> None:
        self.broker = broker
        self.settings = settings
        # Cards are signed: every orchestrator replica and operator checks them alike.
        self._prove = functools.partial(party.prove, to=None)
        self.card = card
        self._event: type[MicromodelAnnounced | PipelineAnnounced] = (
            PipelineAnnounced if pipeline else MicromodelAnnounced
        )
        self.key = (
            pipeline_key(card["name"], settings.replica)
            if pipeline
            else f"{card['name']}/{settings.replica}"
        )
        self._task: asyncio.Task[None] | None = None

    async def announce(self, status: Literal["up", "down"]) -> None:
        event = self._event.create(
            data={
                **self.card,
                "replica": self.settings.replica,
                "status": status,
                "heartbeat_s": self.settings.heartbeat_s,
            },
            source=self.settings.source(self.card["name"]),
            request_id="registry",
        )
        await publish_event(
            self.broker, self.settings.registry_topic, event, key=self.key, prove=self._prove
        )

    async def start(self) -> None:
        await self.announce("up")
        self._task = asyncio.create_task(self._heartbeat(), name="registry-heartbeat")

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_s)
            try:
                await self.announce("up")
            except Exception as exc:
                logger.warning("heartbeat of %s failed: %s", self.key, exc)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        with contextlib.suppress(Exception):
            await self.announce("down")
