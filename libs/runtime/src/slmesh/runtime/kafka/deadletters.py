"""Reading and requeueing the dead-letter topic (`slmesh dlq`).

A dead letter is the original record, bytes untouched, with headers saying
why it was rejected (publishing.publish_dead_letter), and its CloudEvents
headers. Requeueing puts those bytes, key and headers (a binary content mode
event's attributes, its proof of origin) back on the topic they came from, e.g.
after the cause was fixed; the services treat it as a new delivery (a request
id answered already gets no second response). Which topics a letter may go
back to is the caller's decision (`slmesh dlq` allows the mesh's consuming
topics only): the header naming it is anyone's writing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from slmesh.runtime.kafka.clients import (
    admin_kwargs,
    groupless_consumer,
    partitions_of,
    records_to_end,
)
from slmesh.runtime.kafka.profiles import profile_for
from slmesh.runtime.kafka.publishing import (
    DLQ_ATTEMPTS,
    DLQ_ERROR,
    DLQ_ERROR_CODE,
    DLQ_FAILED_AT,
    DLQ_OFFSET,
    DLQ_PARTITION,
    DLQ_SERVICE,
    DLQ_TOPIC,
)
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import CONTENT_TYPE, event_headers

REQUEUED_FROM = "slmesh-requeued-from"


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    timestamp: datetime
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    @property
    def id(self) -> str:
        """How `slmesh dlq` names it: partition:offset on the dead-letter topic."""
        return f"{self.partition}:{self.offset}"

    @property
    def code(self) -> str:
        return self.headers.get(DLQ_ERROR_CODE, "?")

    @property
    def error(self) -> str:
        return self.headers.get(DLQ_ERROR, "")

    @property
    def service(self) -> str:
        return self.headers.get(DLQ_SERVICE, "?")

    @property
    def original_topic(self) -> str | None:
        return self.headers.get(DLQ_TOPIC)


async def read_dead_letters(settings: MeshSettings) -> list[DeadLetter]:
    """Every dead letter on the topic now, oldest first per partition."""
    consumer = groupless_consumer(settings)
    await consumer.start()
    try:
        tps = await partitions_of(consumer, settings.deadletter_topic)
        starts = await consumer.beginning_offsets(tps)
        letters = [
            DeadLetter(
                partition=r.partition,
                offset=r.offset,
                timestamp=datetime.fromtimestamp(r.timestamp / 1000, UTC),
                key=r.key,
                value=r.value or b"",
                headers={k: v.decode(errors="replace") for k, v in r.headers},
            )
            async for r in records_to_end(consumer, starts)
        ]
        return sorted(letters, key=lambda d: (d.timestamp, d.partition, d.offset))
    finally:
        await consumer.stop()


async def requeue(
    settings: MeshSettings, letters: list[DeadLetter]
) -> list[tuple[DeadLetter, str]]:
    """Put each letter's original bytes back on its original topic; (letter, topic) for each."""
    producer = AIOKafkaProducer(**admin_kwargs(settings), **profile_for(settings).producer)
    await producer.start()
    done = []
    try:
        for letter in letters:
            topic = letter.original_topic
            if topic is None:
                raise ValueError(f"dead letter {letter.id} does not say where it came from")
            headers = [
                *original_headers(letter),
                (REQUEUED_FROM, f"{settings.deadletter_topic}:{letter.id}".encode()),
            ]
            await producer.send_and_wait(topic, letter.value, key=letter.key, headers=headers)
            done.append((letter, topic))
    finally:
        await producer.stop()
    return done


# What a dead letter says about itself, not about the record it holds.
_DEAD_LETTER_HEADERS = frozenset(
    {
        DLQ_ERROR,
        DLQ_ERROR_CODE,
        DLQ_TOPIC,
        DLQ_PARTITION,
        DLQ_OFFSET,
        DLQ_ATTEMPTS,
        DLQ_SERVICE,
        DLQ_FAILED_AT,
        REQUEUED_FROM,
    }
)


def original_headers(letter: DeadLetter) -> list[tuple[str, bytes]]:
    """The headers the record came with, as the dead letter kept them: a binary content
    mode event's `ce_*` attributes and its data's content type, and its proof of origin
    (`slmesh-signer`, `slmesh-proof`), which holds on its own topic with its own key and
    value only, so those go back unaltered too; and the trace context it was sent in (the
    requeued record stays in its request's trace). A letter that kept no event header is
    a structured event."""
    kept = {k: v for k, v in letter.headers.items() if k.lower() not in _DEAD_LETTER_HEADERS}
    if not event_headers(kept.items()):
        kept["content-type"] = CONTENT_TYPE
    return [(name, value.encode()) for name, value in kept.items()]
