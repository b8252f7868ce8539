"""Records read from the mesh's topics, decoded as far as they can be: what the inspection
commands (`tail`, `trace`, `replay`, `shadow`) show and select from, and the topics' names."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord

from slmesh.runtime.kafka import groupless_consumer, list_topics, partitions_of, records_to_end
from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.trust import SIGNER_HEADER, is_identity
from slmesh.schemas import event_fields

# Every topic of the mesh starts so (requests, replies, tasks.*, registry, ...).
MESH_PREFIX = "slmesh."
# Shadow runs' topics (`slmesh shadow`): candidates' tasks and replies, no part of a
# request's flow, though they carry its request id.
SHADOW_PREFIX = "slmesh.shadow."


@dataclass(frozen=True)
class Seen:
    """One record as it was on its topic; `event` is its event as JSON (a structured
    record's value; a binary one's ce_* headers with its value as `data`), or None."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: str | None
    headers: dict[str, str]
    value: bytes
    event: dict[str, Any] | None

    @classmethod
    def of(cls, record: ConsumerRecord[bytes, bytes]) -> Seen:
        value = record.value or b""
        # Either content mode: a binary-mode event's attributes are its ce_* headers.
        parsed = event_fields(value, record.headers)
        return cls(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            timestamp_ms=record.timestamp,
            key=record.key.decode("utf-8", "replace") if record.key is not None else None,
            # Kafka allows a header without a value.
            headers={
                k: v.decode("utf-8", "replace") if v is not None else ""
                for k, v in (record.headers or ())
            },
            value=value,
            event=parsed,
        )

    @property
    def type(self) -> str | None:
        kind = self.event.get("type") if self.event else None
        return kind if isinstance(kind, str) else None

    @property
    def request_id(self) -> str | None:
        rid = self.event.get("requestid") if self.event else None
        return rid if isinstance(rid, str) else self.key

    @property
    def data(self) -> dict[str, Any]:
        data = self.event.get("data") if self.event else None
        return data if isinstance(data, dict) else {}

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)

    def as_json(self) -> dict[str, Any]:
        """The record as one JSON object (`--json`, `--dry-run`)."""
        return {
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "timestamp": self.time.isoformat(timespec="milliseconds"),
            "key": self.key,
            "headers": self.headers,
            "value": self.event
            if self.event is not None
            else self.value.decode("utf-8", "replace"),
        }


def topic_name(name: str) -> str:
    """`requests` or `tasks.vat-rates` for `slmesh.requests`, `slmesh.tasks.vat-rates`."""
    return name if name.startswith(MESH_PREFIX) else MESH_PREFIX + name


def same_request(seen: Seen, request_id: str) -> bool:
    """Whether the record is of the request `request_id` names, whichever id it carries.

    A caller's request and its response carry the caller's own request id; the
    mesh's tasks and replies carry its scoped id, `<caller>:<request id>` (a
    caller's name holds no colon). Either may be asked for: the caller's own id
    finds that request of every caller that used it, the scoped one only the
    caller's (its request proven by it, its response on its own topic).
    """
    carried = seen.request_id
    if carried is None:
        return False
    if carried == request_id:
        return True
    caller, scoped, own = carried.partition(":")
    if scoped and is_identity(caller) and own == request_id:
        return True
    asked, scoped, asked_own = request_id.partition(":")
    return (
        bool(scoped)
        and is_identity(asked)
        and carried == asked_own
        and (seen.headers.get(SIGNER_HEADER) == asked or seen.topic.endswith(f".{asked}"))
    )


def type_matches(seen: Seen, wanted: str) -> bool:
    """`slmesh.TaskCompleted` or just `TaskCompleted`."""
    kind = seen.type or ""
    return kind == wanted or kind.rsplit(".", 1)[-1] == wanted


async def mesh_topic_names(settings: MeshSettings) -> list[str]:
    """The mesh's topics, but for shadow runs' (what `trace` and `replay --all` read)."""
    return sorted(
        t
        for t in await list_topics(settings)
        if t.startswith(MESH_PREFIX) and not t.startswith(SHADOW_PREFIX)
    )


async def read_to_end(settings: MeshSettings, topics: Iterable[str]) -> AsyncIterator[Seen]:
    """Every record the topics hold now, topic by topic, from each partition's beginning.

    Selection by time or request happens on what is read: the dev broker keeps
    its topics in memory, and the keys of a request's records hash to one
    partition per topic, which a reader of every partition need not know.
    """
    consumer = groupless_consumer(settings)
    try:
        # Started in here: stopped even when no broker answers (no "Unclosed" warning).
        await consumer.start()
        # Every topic's partitions first: once a consumer is assigned partitions, its
        # metadata covers only their topics, and the next topic would look absent.
        partitions = [await partitions_of(consumer, topic) for topic in topics]
        for tps in partitions:
            starts = await consumer.beginning_offsets(tps)
            async for record in records_to_end(consumer, starts):
                yield Seen.of(record)
    finally:
        await consumer.stop()


async def follow(
    consumer: AIOKafkaConsumer, topic: str, *, from_beginning: bool
) -> AsyncIterator[Seen]:
    """A topic's records as they come (after those it holds, with `from_beginning`)."""
    tps = await partitions_of(consumer, topic)
    consumer.assign(tps)
    if from_beginning:
        await consumer.seek_to_beginning(*tps)
    else:
        await consumer.seek_to_end(*tps)
    while True:
        batches = await consumer.getmany(timeout_ms=500)
        for records in batches.values():
            for record in records:
                yield Seen.of(record)
