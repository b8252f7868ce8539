"""Kafka clients built from one broker profile, so broker quirks never leak into services.

Measured on the embedded Tansu broker (docs/architecture.md, "Measured facts"): it rejects the
idempotent producer, and it answers a fetch only when `fetch_max_wait_ms`
expires, so a short wait is what makes a hop take milliseconds instead of
half a second. Apache Kafka answers fetches as data arrives and supports
idempotence, so there the producer gets acks=all with idempotence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable
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
from slmesh.runtime.pace import FetchPace
from slmesh.runtime.service import message_itself
from slmesh.runtime.settings import MeshSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BrokerProfile:
    name: str
    producer: dict[str, Any] = field(default_factory=dict)
    consumer: dict[str, Any] = field(default_factory=dict)
    # A broker that answers fetches only when their wait expires makes idle
    # consumers poll: there, consumers wait this long while no record comes
    # (pace.FetchPace). None: the broker answers on arrival, one wait does.
    idle_fetch_wait_ms: int | None = None
    # A model's task consumer: its work dwarfs a hop, so it polls less, busy
    # or idle, and stays busy longer (its tasks come seconds apart).
    model_fetch_wait_ms: int = 25
    model_idle_fetch_wait_ms: int | None = None
    model_idle_after_s: float = 60.0
    # The wait of a process still expecting records (pace.FetchPace), once
    # nothing has come for `hold_after_s`: a model's call is under way.
    hold_fetch_wait_ms: int | None = None
    hold_after_s: float | None = None
    # Quiet for this long (and holding for nothing), a consumer goes back to
    # the idle wait.
    idle_after_s: float = 0.5


PROFILES: dict[str, BrokerProfile] = {
    "tansu": BrokerProfile(
        name="tansu",
        producer={"acks": "all", "enable_idempotence": False, "linger_ms": 0},
        # Tansu answers a JoinGroup only after half the session timeout, so a
        # shorter session makes a consumer start in 2 s instead of 5 s (and a
        # dead replica's partitions move sooner).
        # The wait while records flow. Each busy consumer fetches 1000/wait times
        # a second, and on two cores those fetches are what a hop queues behind:
        # one aiokafka hop took 2.5 ms alone and 6.5 ms beside six consumers
        # polling at 2 ms. At 5 ms instead of 2, `make bench` went from 45 to
        # 35 ms p50 through the mesh (raw relays: 24.7 to 20.6 ms); unloaded,
        # 1-5 ms made no difference (a 2-hop ping-pong took ~4.5 ms either way).
        consumer={
            "fetch_max_wait_ms": 5,
            "session_timeout_ms": 4000,
            "heartbeat_interval_ms": 1000,
        },
        # A first request after a quiet spell pays at most this per idle hop:
        # four hops stay within 400 ms.
        idle_fetch_wait_ms=100,
        # Measured on an idle dev stack: each idle consumer cost Tansu about
        # 0.6% of a core at 100 ms, 0.2% at 500 ms.
        model_idle_fetch_wait_ms=500,
        # Measured on the demo's request: polling at 2 ms through a 100 ms
        # summary took the model a third of its speed.
        hold_fetch_wait_ms=10,
        hold_after_s=0.05,
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
) -> None:
    """Consume `topic` in `group_id`; offsets are committed by `consumption` only.

    The consumer's fetch wait follows `consumption.pace`, when it has one.
    """
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
