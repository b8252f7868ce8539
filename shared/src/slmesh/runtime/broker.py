"""Kafka clients built from one broker profile, so broker quirks never leak into services.

Measured on the embedded Tansu broker (DESIGN.md §3): it rejects the
idempotent producer, and it answers a fetch only when `fetch_max_wait_ms`
expires, so a short wait is what makes a hop take milliseconds instead of
half a second. Apache Kafka answers fetches as data arrives and supports
idempotence, so there the producer gets acks=all with idempotence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.structs import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.security import SASLPlaintext

from slmesh.runtime.consumption import ConcurrentConsumption
from slmesh.runtime.service import message_itself
from slmesh.runtime.settings import MeshSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BrokerProfile:
    name: str
    producer: dict[str, Any] = field(default_factory=dict)
    consumer: dict[str, Any] = field(default_factory=dict)


PROFILES: dict[str, BrokerProfile] = {
    "tansu": BrokerProfile(
        name="tansu",
        producer={"acks": "all", "enable_idempotence": False, "linger_ms": 0},
        # Tansu answers a JoinGroup only after half the session timeout, so a
        # shorter session makes a consumer start in 2 s instead of 5 s (and a
        # dead replica's partitions move sooner).
        consumer={
            "fetch_max_wait_ms": 2,
            "session_timeout_ms": 4000,
            "heartbeat_interval_ms": 1000,
        },
    ),
    "kafka": BrokerProfile(
        name="kafka",
        producer={"acks": "all", "enable_idempotence": True, "linger_ms": 0},
        consumer={"fetch_max_wait_ms": 100},
    ),
}


def profile_for(settings: MeshSettings) -> BrokerProfile:
    return PROFILES[settings.broker_profile]


def _security(settings: MeshSettings) -> SASLPlaintext | None:
    if settings.kafka_username is None or settings.kafka_password is None:
        return None
    return SASLPlaintext(
        username=settings.kafka_username, password=settings.kafka_password.get_secret_value()
    )


def create_broker(settings: MeshSettings, *, client_id: str) -> KafkaBroker:
    """A FastStream broker whose producer follows the profile.

    Per-message logs go to DEBUG: at INFO they would cost more than a hop.
    """
    profile = profile_for(settings)
    return KafkaBroker(
        settings.bootstrap_servers,
        client_id=client_id,
        security=_security(settings),
        allow_auto_create_topics=False,
        max_request_size=max(settings.max_event_bytes * 4, 1024 * 1024),
        logger=logging.getLogger("slmesh.faststream"),
        log_level=logging.DEBUG,
        # Handlers take the message itself (service.message_itself): no
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
    min_fetch_wait_ms: int = 0,
) -> None:
    """Consume `topic` in `group_id`; offsets are committed by `consumption` only."""
    broker.subscriber(
        topic,
        group_id=group_id,
        ack_policy=AckPolicy.MANUAL,
        listener=consumption,
        decoder=message_itself,
        title=title,
        description=description,
        **consumer_options(settings, min_fetch_wait_ms=min_fetch_wait_ms),
    )(consumption.on_message)


def consumer_options(settings: MeshSettings, *, min_fetch_wait_ms: int = 0) -> dict[str, Any]:
    """Options for every subscriber: the profile's fetch posture, commits only by us.

    `min_fetch_wait_ms` lets a consumer whose work takes far longer than a
    hop (model inference) poll less often: on Tansu every idle poll costs
    broker and client CPU that the models need.
    """
    options = {**profile_for(settings).consumer, "auto_offset_reset": "earliest"}
    options["fetch_max_wait_ms"] = max(options.get("fetch_max_wait_ms", 500), min_fetch_wait_ms)
    return options


def admin_kwargs(settings: MeshSettings) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"bootstrap_servers": settings.bootstrap_servers}
    if settings.kafka_username and settings.kafka_password:
        kwargs.update(
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="PLAIN",
            sasl_plain_username=settings.kafka_username,
            sasl_plain_password=settings.kafka_password.get_secret_value(),
        )
    return kwargs


def mesh_topics(settings: MeshSettings, micromodels: list[str]) -> list[str]:
    return [
        settings.requests_topic,
        settings.replies_topic,
        settings.responses_topic,
        settings.deadletter_topic,
        *(settings.task_topic(name) for name in micromodels),
    ]


async def partitions_of(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """Every partition of `topic`, waiting briefly for metadata; an error if it does not exist."""
    for _ in range(50):
        partitions = consumer.partitions_for_topic(topic)
        if partitions:
            return [TopicPartition(topic, p) for p in sorted(partitions)]
        await consumer._client.force_metadata_update()
        await asyncio.sleep(0.1)
    raise RuntimeError(f"topic {topic!r} does not exist; is the mesh running?")


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
            for record in records:
                if record.offset < ends[tp]:
                    yield record
        remaining = [tp for tp in remaining if await consumer.position(tp) < ends[tp]]


def groupless_consumer(settings: MeshSettings) -> AIOKafkaConsumer:
    """A consumer outside any group, committing nothing: for readers of whole topics."""
    return AIOKafkaConsumer(
        **admin_kwargs(settings),
        group_id=None,
        enable_auto_commit=False,
        **profile_for(settings).consumer,
    )


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
