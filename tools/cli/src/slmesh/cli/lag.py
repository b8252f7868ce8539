"""`slmesh lag`: how far each consumer group of the mesh is behind, per topic."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from slmesh.runtime.kafka import (
    ORCHESTRATOR_REPLIES_GROUP,
    ORCHESTRATOR_REQUESTS_GROUP,
    admin_kwargs,
    groupless_consumer,
    list_topics,
    micromodel_group,
    partitions_of,
)
from slmesh.runtime.settings import MeshSettings

MICROMODEL_GROUP = "slmesh.micromodel."


@dataclass(frozen=True)
class GroupLag:
    group: str
    topic: str
    committed: int
    end: int
    # Members in the group now; None where the broker would not say.
    members: int | None

    @property
    def lag(self) -> int:
        return max(self.end - self.committed, 0)

    @property
    def micromodel(self) -> str | None:
        return (
            self.group.removeprefix(MICROMODEL_GROUP)
            if self.group.startswith(MICROMODEL_GROUP)
            else None
        )


async def group_lags(settings: MeshSettings) -> list[GroupLag]:
    admin = AIOKafkaAdminClient(**admin_kwargs(settings))
    await admin.start()
    consumer = groupless_consumer(settings)
    await consumer.start()
    try:
        # The mesh's groups by name, each with the topic it consumes: the dev
        # broker's answers to ListGroups, and to OffsetFetch for all of a
        # group's topics, do not decode in aiokafka; asked per partition, they do.
        groups = mesh_groups(settings, await list_topics(settings))
        members = await _members(admin, list(groups))
        rows = []
        for group, topic in groups.items():
            tps = await partitions_of(consumer, topic)
            offsets: dict[TopicPartition, Any] = await admin.list_consumer_group_offsets(
                group, partitions=tps
            )
            committed = {tp: max(meta.offset, 0) for tp, meta in offsets.items()}
            ends = await consumer.end_offsets(tps)
            rows.append(
                GroupLag(
                    group=group,
                    topic=topic,
                    committed=sum(committed.get(tp, 0) for tp in tps),
                    # Never below what is committed: the dev broker can report an end
                    # short of a partition's last record batch (records.read_to_end).
                    end=sum(max(ends[tp], committed.get(tp, 0)) for tp in tps),
                    members=members.get(group),
                )
            )
        return rows
    finally:
        await consumer.stop()
        await admin.close()


def mesh_groups(settings: MeshSettings, topics: set[str]) -> dict[str, str]:
    """Each consumer group of the mesh, with the topic it consumes."""
    prefix = settings.tasks_prefix
    micromodels = sorted(t.removeprefix(prefix) for t in topics if t.startswith(prefix))
    return {
        ORCHESTRATOR_REQUESTS_GROUP: settings.requests_topic,
        ORCHESTRATOR_REPLIES_GROUP: settings.replies_topic,
        **{micromodel_group(name): settings.task_topic(name) for name in micromodels},
    }


async def _members(admin: AIOKafkaAdminClient, groups: list[str]) -> dict[str, int]:
    """Members per group; a group the broker will not describe is left out (shown `?`)."""
    counts: dict[str, int] = {}
    for group in groups:
        with contextlib.suppress(Exception):
            [response] = await admin.describe_consumer_groups([group])
            for described in response.to_object()["groups"]:
                if not described["error_code"]:
                    counts[group] = len(described["members"])
    return counts


def format_lags(rows: list[GroupLag]) -> str:
    if not rows:
        return "no consumer group of the mesh has committed anything yet"
    width = max(len(r.group) for r in rows)
    topic_width = max(len(r.topic) for r in rows)
    lines = [
        f"{'group'.ljust(width)}  {'topic'.ljust(topic_width)}  committed      end      lag  "
        "members  micromodel"
    ]
    for r in rows:
        members = "?" if r.members is None else str(r.members)
        lines.append(
            f"{r.group.ljust(width)}  {r.topic.ljust(topic_width)}  {r.committed:>9}  "
            f"{r.end:>7}  {r.lag:>7}  {members:>7}  {r.micromodel or ''}"
        )
    return "\n".join(lines)
