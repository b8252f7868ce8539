"""Kafka clients built from the broker profile, so broker quirks never leak into services.

FastStream is imported where its broker is made, not with this module: a
client of the mesh (`slmesh ask`, a reader command) uses only the raw aiokafka
clients, and FastStream's import alone takes longer than its whole answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from slmesh.runtime.kafka.decoders import message_itself
from slmesh.runtime.kafka.pace import FetchPace
from slmesh.runtime.kafka.profiles import profile_for
from slmesh.runtime.kafka.security import broker_security, kafka_connection
from slmesh.runtime.settings import MeshSettings

if TYPE_CHECKING:
    from faststream.kafka import KafkaBroker

    from slmesh.runtime.kafka.consumption import ConcurrentConsumption

logger = logging.getLogger(__name__)


def create_broker(settings: MeshSettings, *, client_id: str) -> KafkaBroker:
    """A FastStream broker whose producer follows the profile.

    Per-message logs go to DEBUG: at INFO they would cost more than a hop.
    """
    from faststream.kafka import KafkaBroker

    profile = profile_for(settings)
    security, security_options = broker_security(settings)
    return KafkaBroker(
        settings.bootstrap_servers,
        client_id=client_id,
        security=security,
        **security_options,
        allow_auto_create_topics=False,
        max_request_size=max(settings.max_event_bytes * 4, 1024 * 1024),
        logger=logging.getLogger("slmesh.faststream"),
        log_level=logging.DEBUG,
        # Handlers take the message itself (kafka.decoders.message_itself): no
        # per-record dependency injection.
        apply_types=False,
        **profile.producer,
    )


def subscribe(
    broker: KafkaBroker,
    settings: MeshSettings,
    topic: str,
    *,
    group_id: str,
    consumption: ConcurrentConsumption,
    title: str,
    description: str | None = None,
) -> None:
    """Consume `topic` in `group_id`; offsets are committed by `consumption` only.

    The consumer's fetch wait follows `consumption.pace`, when it has one.
    """
    from faststream import AckPolicy

    pace = consumption.pace
    options = consumer_options(settings)
    if pace is not None:
        options["fetch_max_wait_ms"] = pace.wait_ms
    subscriber = broker.subscriber(
        topic,
        group_id=group_id,
        ack_policy=AckPolicy.MANUAL,
        listener=consumption,
        decoder=message_itself,
        title=title,
        description=description,
        **options,
    )
    subscriber(consumption.on_message)
    # Its consumer, once the broker starts: for the health and lag probes.
    consumption.subscriber = subscriber
    # The group the records are consumed in names the consumption's spans and lag.
    consumption.group = group_id
    if pace is not None:
        pace.follow(subscriber)


def consumer_options(settings: MeshSettings) -> dict[str, Any]:
    """Options for every subscriber: the profile's fetch posture, commits only by us."""
    return {**profile_for(settings).consumer, "auto_offset_reset": "earliest"}


def fetch_pace(
    settings: MeshSettings,
    *,
    for_model: bool = False,
    hold: Callable[[], bool] = lambda: False,
) -> FetchPace | None:
    """The pace of a process's consumers on this broker; None where one wait does.

    `for_model`: the consumer of a micromodel that runs a model. Its work
    takes far longer than a hop, so it polls less, busy or idle: on Tansu
    every poll costs broker and client CPU that the model needs.
    """
    profile = profile_for(settings)
    if profile.idle_fetch_wait_ms is None:
        return None
    busy = profile.consumer.get("fetch_max_wait_ms", 500)
    idle, idle_after = profile.idle_fetch_wait_ms, profile.idle_after_s
    if for_model:
        busy = max(busy, profile.model_fetch_wait_ms)
        idle = profile.model_idle_fetch_wait_ms or idle
        idle_after = profile.model_idle_after_s
    return FetchPace(
        busy_ms=busy,
        idle_ms=max(idle, busy),
        idle_after_s=idle_after,
        hold_ms=profile.hold_fetch_wait_ms,
        hold_after_s=profile.hold_after_s,
        hold=hold,
    )


def admin_kwargs(settings: MeshSettings) -> dict[str, Any]:
    """How a raw aiokafka client (consumer, producer, admin) connects: as the broker does."""
    return kafka_connection(settings)


async def partitions_of(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """Every partition of `topic`, waiting briefly for metadata; an error if it does not exist."""
    for _ in range(50):
        partitions = consumer.partitions_for_topic(topic)
        if partitions:
            return [TopicPartition(topic, p) for p in sorted(partitions)]
        await consumer._client.force_metadata_update()
        await asyncio.sleep(0.1)
    raise UnknownTopicError(f"topic {topic!r} does not exist; is the mesh running?")


class UnknownTopicError(RuntimeError):
    """A topic a reader asked for is not on the broker."""


async def records_to_end(
    consumer: AIOKafkaConsumer, starts: dict[TopicPartition, int]
) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    """Each partition's records from its start offset to the end it had when this began.

    For a groupless consumer reading a topic's past (dead letters, a look
    back for one answer): records arriving meanwhile are not waited for.
    """
    ends = await consumer.end_offsets(list(starts))
    remaining = [tp for tp, start in starts.items() if start < ends[tp]]
    if not remaining:
        return
    consumer.assign(remaining)
    for tp in remaining:
        consumer.seek(tp, starts[tp])
    while remaining:
        batches = await consumer.getmany(*remaining, timeout_ms=500)
        for tp, records in batches.items():
            # The embedded broker puts the end of a partition at the start of its last
            # record batch plus one (three replies produced as one batch: end 1, not 3),
            # so the records that came with one before the end are kept too.
            if records and records[0].offset < ends[tp]:
                for record in records:
                    yield record
        remaining = [tp for tp in remaining if await consumer.position(tp) < ends[tp]]


def groupless_consumer(
    settings: MeshSettings, *, fetch_max_wait_ms: int | None = None
) -> AIOKafkaConsumer:
    """A consumer outside any group, committing nothing: for readers of whole topics.

    `fetch_max_wait_ms` overrides the profile's, e.g. for a background
    reader that need not see a record within milliseconds.
    """
    options = dict(profile_for(settings).consumer)
    if fetch_max_wait_ms is not None:
        options["fetch_max_wait_ms"] = fetch_max_wait_ms
    return AIOKafkaConsumer(
        **admin_kwargs(settings),
        group_id=None,
        enable_auto_commit=False,
        **options,
    )
