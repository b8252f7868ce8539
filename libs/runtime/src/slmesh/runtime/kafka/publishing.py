"""Putting events and dead letters on topics, the same way in every service."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from slmesh.runtime.tracing import producing
from slmesh.runtime.trust.proofs import PROOF_HEADER, SIGNER_HEADER
from slmesh.schemas import CONTENT_TYPE, Envelope, ErrorCode, encode, event_headers

if TYPE_CHECKING:
    from aiokafka.structs import ConsumerRecord
    from faststream.kafka import KafkaBroker

logger = logging.getLogger(__name__)

# Dead-letter headers: an operator reading the topic (or `slmesh dlq`, later)
# learns why a record was rejected without the service's logs.
DLQ_ERROR = "slmesh-error"
DLQ_ERROR_CODE = "slmesh-error-code"
DLQ_TOPIC = "slmesh-original-topic"
DLQ_PARTITION = "slmesh-original-partition"
DLQ_OFFSET = "slmesh-original-offset"
DLQ_ATTEMPTS = "slmesh-attempts"
DLQ_SERVICE = "slmesh-service"
DLQ_FAILED_AT = "slmesh-failed-at"


# Proves a record for its reader: (topic, key, value) -> the proof's headers
# (`MeshParty.prove` with its reader bound; slmesh.runtime.trust).
Prove = Callable[[str, bytes | None, bytes], Sequence[tuple[str, bytes]]]


def _key_bytes(key: str | bytes | None) -> bytes | None:
    return key.encode() if isinstance(key, str) else key


async def publish_event(
    broker: KafkaBroker, topic: str, event: Envelope, *, key: str, prove: Prove
) -> bytes:
    """Publish `event`, proven; returns the bytes published (e.g. to keep them)."""
    body = encode(event)
    await publish_bytes(broker, topic, body, key=key, prove=prove)
    return body


async def publish_bytes(
    broker: KafkaBroker, topic: str, body: bytes, *, key: str, prove: Prove
) -> None:
    """Publish an already encoded event (a stored reply sent again), proven for its reader.

    The proof covers this topic, key and value: it holds for this record only.
    The record carries the trace context of its `send` span: its consumer's
    span is that span's child.
    """
    key_bytes = key.encode()
    proof = {name: value.decode() for name, value in prove(topic, key_bytes, body)}
    with producing(topic, key) as trace_headers:
        await broker.publish(
            body,
            topic,
            key=key_bytes,
            headers={"content-type": CONTENT_TYPE, **proof, **trace_headers},
        )


async def publish_dead_letter(
    broker: KafkaBroker,
    topic: str,
    record: ConsumerRecord[bytes, bytes],
    *,
    code: ErrorCode,
    error: str,
    service: str,
    attempts: int = 1,
) -> None:
    """Send the original bytes, untouched, with headers that say why they were rejected.

    The record's CloudEvents headers go with them (`content-type`, and the `ce_*`
    attributes of a binary content mode event, whose value is only its data), so
    the dead letter is the whole event and a requeue puts it back as it came; so
    does its proof of origin, which holds again once it is back on its topic.
    """
    headers = {
        **event_headers(record.headers or ()),
        **{
            name: value.decode("utf-8", "replace")
            for name, value in record.headers or ()
            if name.lower() in (SIGNER_HEADER, PROOF_HEADER) and value
        },
        DLQ_ERROR: error[:2000],
        DLQ_ERROR_CODE: code,
        DLQ_TOPIC: record.topic,
        DLQ_PARTITION: str(record.partition),
        DLQ_OFFSET: str(record.offset),
        DLQ_ATTEMPTS: str(attempts),
        DLQ_SERVICE: service,
        DLQ_FAILED_AT: datetime.now(UTC).isoformat(),
    }
    logger.warning(
        "dead-lettered %s[%d]@%d: %s: %s",
        record.topic,
        record.partition,
        record.offset,
        code,
        error,
    )
    with producing(topic) as trace_headers:
        # The dead letter stays in its request's trace.
        await broker.publish(
            record.value or b"",
            topic,
            key=_key_bytes(record.key),
            headers={**headers, **trace_headers},
        )
