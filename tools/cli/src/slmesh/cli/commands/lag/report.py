"""`slmesh lag`: how far each consumer group of the mesh is behind, per topic."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from slmesh.cli.records import MESH_PREFIX
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


@dataclass(frozen=True)
class LagReport:
    rows: list[GroupLag]
    # Whether the broker listed its consumer groups (ListGroups); when it did not,
    # only the groups named after the mesh's topics are shown.
    listed: bool = True
    # Groups the broker listed whose committed offsets it would not give.
    unreadable: list[str] = field(default_factory=list)


async def group_lags(settings: MeshSettings) -> LagReport:
    admin = AIOKafkaAdminClient(**admin_kwargs(settings))
    consumer = groupless_consumer(settings)
    try:
        # Started in here: closed even when no broker answers.
        await admin.start()
        await consumer.start()
        topics = await list_topics(settings)
        # The mesh's own groups, each with the topic it consumes (shown even before
        # they commit), and any other group of the mesh's name the broker knows (a
        # shadow candidate's, an operator's): every mesh topic it committed on.
        named = {group: [topic] for group, topic in mesh_groups(settings, topics).items()}
        listed = await _listed_groups(admin)
        mesh_topics = sorted(t for t in topics if t.startswith(MESH_PREFIX))
        others = sorted(g for g in listed or () if g.startswith(MESH_PREFIX) and g not in named)
        groups = {**named, **{group: mesh_topics for group in others}}
        members = await _members(admin, list(groups))
        rows: list[GroupLag] = []
        unreadable: list[str] = []
        for group, its_topics in groups.items():
            try:
                rows += await _group_rows(
                    admin,
                    consumer,
                    group,
                    its_topics,
                    members.get(group),
                    keep_empty=group in named,
                )
            except Exception:
                # Its answer did not decode: aiokafka says so as a closed connection.
                unreadable.append(group)
        return LagReport(rows=rows, listed=listed is not None, unreadable=unreadable)
    finally:
        await consumer.stop()
        await admin.close()


async def _group_rows(
    admin: AIOKafkaAdminClient,
    consumer: AIOKafkaConsumer,
    group: str,
    topics: list[str],
    members: int | None,
    *,
    keep_empty: bool,
) -> list[GroupLag]:
    """A group's row per topic; a topic it never committed on only with `keep_empty`."""
    by_topic = {topic: await partitions_of(consumer, topic) for topic in topics}
    tps = [tp for its in by_topic.values() for tp in its]
    if not tps:
        return []
    # Asked per partition: the dev broker's answer to OffsetFetch for all of a
    # group's topics does not decode in aiokafka (docs/architecture.md).
    offsets: dict[TopicPartition, Any] = await admin.list_consumer_group_offsets(
        group, partitions=tps
    )
    ends = await consumer.end_offsets(tps)
    rows = []
    for topic, its in by_topic.items():
        # -1: nothing committed on that partition.
        raw = {tp: offsets[tp].offset for tp in its if tp in offsets}
        if not keep_empty and all(offset < 0 for offset in raw.values()):
            continue
        committed = {tp: max(offset, 0) for tp, offset in raw.items()}
        rows.append(
            GroupLag(
                group=group,
                topic=topic,
                committed=sum(committed.values()),
                # Never below what is committed: the dev broker can report an end
                # short of a partition's last record batch (records.read_to_end).
                end=sum(max(ends[tp], committed.get(tp, 0)) for tp in its),
                members=members,
            )
        )
    return rows


def mesh_groups(settings: MeshSettings, topics: set[str]) -> dict[str, str]:
    """Each consumer group of the mesh, with the topic it consumes."""
    prefix = settings.tasks_prefix
    micromodels = sorted(t.removeprefix(prefix) for t in topics if t.startswith(prefix))
    return {
        ORCHESTRATOR_REQUESTS_GROUP: settings.requests_topic,
        ORCHESTRATOR_REPLIES_GROUP: settings.replies_topic,
        **{micromodel_group(name): settings.task_topic(name) for name in micromodels},
    }


async def _listed_groups(admin: AIOKafkaAdminClient) -> set[str] | None:
    """The consumer groups the broker knows, or None when it would not list them.

    Tansu lists only the groups that have committed offsets: a group whose
    members have not committed yet is not among them (nor is it absent).
    """
    try:
        return {group for group, _ in await admin.list_consumer_groups()}
    except Exception:
        # An unsupported API, or an answer that does not decode.
        return None


async def _members(admin: AIOKafkaAdminClient, groups: list[str]) -> dict[str, int]:
    """Members per group; a group the broker will not describe is left out (shown `?`).

    One group at a time: Tansu's answer for a group it does not know does not
    decode in aiokafka, and would take the other groups' answers with it.
    """
    counts: dict[str, int] = {}
    for group in groups:
        with contextlib.suppress(Exception):
            [response] = await admin.describe_consumer_groups([group])
            for described in response.to_object()["groups"]:
                if not described["error_code"]:
                    counts[group] = len(described["members"])
    return counts


def format_lags(report: LagReport) -> str:
    rows = report.rows
    lines = []
    if not rows:
        lines.append("no consumer group of the mesh has committed anything yet")
    else:
        width = max(len(r.group) for r in rows)
        topic_width = max(len(r.topic) for r in rows)
        lines.append(
            f"{'group'.ljust(width)}  {'topic'.ljust(topic_width)}  committed      end      lag  "
            "members  micromodel"
        )
        for r in rows:
            members = "?" if r.members is None else str(r.members)
            lines.append(
                f"{r.group.ljust(width)}  {r.topic.ljust(topic_width)}  {r.committed:>9}  "
                f"{r.end:>7}  {r.lag:>7}  {members:>7}  {r.micromodel or ''}"
            )
    if any(r.members is None for r in rows):
        lines.append("members ?: the broker would not describe the group (no such group yet?)")
    if not report.listed:
        lines.append(
            "note: the broker would not list its consumer groups; "
            "shown: the orchestrator's and each micromodel's, named from the topics"
        )
    if report.unreadable:
        lines.append(
            "note: the broker would not give the committed offsets of "
            + ", ".join(report.unreadable)
        )
    return "\n".join(lines)
