"""Mesh topics: their names, creating them, and knowing which exist."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from slmesh.runtime.kafka.clients import admin_kwargs
from slmesh.runtime.settings import MeshSettings

logger = logging.getLogger(__name__)


def mesh_topics(settings: MeshSettings, micromodels: list[str]) -> list[str]:
    return [
        settings.requests_topic,
        settings.replies_topic,
        settings.responses_topic,
        settings.deadletter_topic,
        *(settings.task_topic(name) for name in micromodels),
    ]


async def list_topics(settings: MeshSettings) -> set[str]:
    admin = AIOKafkaAdminClient(**admin_kwargs(settings))
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


class TopicDirectory:
    """Which topics exist: known ones from memory, others asked of the broker.

    Topics are not deleted while the mesh runs, so a topic once seen stays
    known; one not seen is asked about each time, as it may be created later.
    Publishing to a topic that does not exist would wait out the producer's
    metadata timeout, and then fail, for every record that names it.
    """

    def __init__(self, settings: MeshSettings, *, known: Iterable[str] = ()) -> None:
        self._settings = settings
        self._known = set(known)

    def add(self, *topics: str) -> None:
        self._known.update(topics)

    async def exists(self, topic: str) -> bool:
        if topic not in self._known:
            self._known |= await list_topics(self._settings)
        return topic in self._known


async def ensure_topics(
    settings: MeshSettings,
    names: list[str],
    *,
    partitions: int | None = None,
    configs: dict[str, str] | None = None,
) -> None:
    """Create the topics that do not exist yet; existing ones are left as they are."""
    admin = AIOKafkaAdminClient(**admin_kwargs(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in dict.fromkeys(names) if n not in existing]
        if not missing:
            return
        # Another process may create a topic between our listing and our request.
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(
                [
                    NewTopic(
                        n,
                        num_partitions=partitions or settings.partitions,
                        replication_factor=1,
                        topic_configs=configs or {},
                    )
                    for n in missing
                ]
            )
        logger.info("created topics %s", ", ".join(missing))
    finally:
        await admin.close()
