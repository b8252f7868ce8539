"""Mesh topics: their names, creating them, and knowing which exist."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from slmesh.runtime.kafka.clients import admin_kwargs
from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.trust.policy import response_topic

logger = logging.getLogger(__name__)

# Where a candidate under shadow evaluation (SLMESH_SHADOW_TOPIC, `slmesh shadow`)
# replies: apart from the live replies, which no candidate may reach.
SHADOW_REPLIES = "slmesh.shadow.replies"


def mesh_topics(
    settings: MeshSettings,
    micromodels: list[str],
    callers: Iterable[str] = (),
    versions: Mapping[str, Sequence[str]] | None = None,
) -> list[str]:
    """The mesh's topics, with the task topic of each micromodel (and of each of its
    `versions` served side by side) and the response topic of each caller (`<responses
    topic>.<caller>`: a caller is answered there alone; nothing is answered on the
    responses topic itself)."""
    versions = versions or {}
    return [
        settings.requests_topic,
        settings.replies_topic,
        settings.deadletter_topic,
        *(settings.task_topic(name) for name in micromodels),
        *(settings.task_topic(n, v) for n in micromodels for v in versions.get(n, ())),
        *(response_topic(settings.responses_topic, caller) for caller in callers),
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
    known (until `forget`: a broker that restarts with its memory loses them);
    one not seen is asked about each time, as it may be created later.
    Publishing to a topic that does not exist would wait out the producer's
    metadata timeout, and then fail, for every record that names it.
    """

    def __init__(self, settings: MeshSettings, *, known: Iterable[str] = ()) -> None:
        self._settings = settings
        self._known = set(known)

    def add(self, *topics: str) -> None:
        self._known.update(topics)

    def forget(self) -> None:
        """Topics were deleted after all (a broker restarted with its memory): ask again."""
        self._known.clear()

    async def exists(self, topic: str) -> bool:
        if topic not in self._known:
            self._known |= await list_topics(self._settings)
        return topic in self._known


def topic_configs(settings: MeshSettings, configs: dict[str, str] | None = None) -> dict[str, str]:
    """A created topic's configs: how many copies must take a write, and any of its own."""
    return {"min.insync.replicas": str(settings.min_insync_replicas), **(configs or {})}


@dataclass(frozen=True)
class TopicSpec:
    """A topic as the mesh creates it: its partitions (None: the settings') and its configs."""

    name: str
    partitions: int | None = None
    configs: dict[str, str] = field(default_factory=dict)


async def create_topics(settings: MeshSettings, specs: Iterable[TopicSpec]) -> list[str]:
    """Create the topics that do not exist yet, in one request; existing ones are left alone.

    Created with the settings' replication factor and min.insync.replicas.
    Returns the names created here.
    """
    wanted = {spec.name: spec for spec in specs}
    admin = AIOKafkaAdminClient(**admin_kwargs(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [spec for name, spec in wanted.items() if name not in existing]
        if not missing:
            return []
        response = await admin.create_topics(
            [
                NewTopic(
                    spec.name,
                    num_partitions=spec.partitions or settings.partitions,
                    replication_factor=settings.replication,
                    topic_configs=topic_configs(settings, spec.configs),
                )
                for spec in missing
            ]
        )
        # aiokafka raises nothing for a topic the broker refused: each has its code here.
        created, refused = [], []
        for name, code, *message in response.topic_errors:
            if code == 0:
                created.append(name)
            elif code != TopicAlreadyExistsError.errno:  # made by another process meanwhile
                reason = message[0] if message and message[0] else for_code(code).__name__
                refused.append(f"{name}: {reason}")
        if created:
            logger.info("created topics %s", ", ".join(created))
        if refused:
            raise TopicCreationError(
                f"the broker refused to create {'; '.join(refused)} (replication "
                f"{settings.replication}, min.insync.replicas {settings.min_insync_replicas})"
            )
        return created
    finally:
        await admin.close()


async def ensure_topics(
    settings: MeshSettings,
    names: list[str],
    *,
    partitions: int | None = None,
    configs: dict[str, str] | None = None,
) -> list[str]:
    """`create_topics` of topics alike: the same partitions and configs for each name."""
    return await create_topics(
        settings, [TopicSpec(name, partitions, configs or {}) for name in names]
    )


class TopicCreationError(RuntimeError):
    """The broker refused to create topics (too few brokers for the replication, a policy)."""


class MissingTopicsError(RuntimeError):
    """Topics a service needs are not on the broker, and it may not create them."""
