"""Looking back on a topic: was a record with this key put there since a given time?

The orchestrator asks before answering a request it took over from a replica
that died while answering: that replica may have published the answer just
before it died. Without a transactional producer (Tansu has none) this is
what keeps such a request from being answered twice.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner

from slmesh.runtime.kafka import groupless_consumer, partitions_of, records_to_end
from slmesh.runtime.settings import MeshSettings

logger = logging.getLogger(__name__)

_partitioner = DefaultPartitioner()


async def published_since(
    settings: MeshSettings,
    topic: str,
    key: bytes,
    since_ms: int,
    *,
    timeout_s: float = 5.0,
) -> bool | None:
    """Whether a record keyed `key` reached `topic` at or after `since_ms`.

    Reads only the partition the key maps to (the producers' default
    partitioner), from the first record at `since_ms` to the end. None when
    it could not be told in `timeout_s` (broker trouble): the caller decides
    which way to err.
    """
    consumer = groupless_consumer(settings)
    try:
        async with asyncio.timeout(timeout_s):
            await consumer.start()
            partitions = [tp.partition for tp in await partitions_of(consumer, topic)]
            tp = TopicPartition(topic, _partitioner(key, partitions, partitions))
            found = (await consumer.offsets_for_times({tp: since_ms})).get(tp)
            # Kafka says "none since" with None; Tansu with a timestamp of -1.
            if found is None or found.timestamp < 0:
                return False
            async for record in records_to_end(consumer, {tp: found.offset}):
                if record.key == key:
                    return True
            return False
    except (TimeoutError, OSError, KafkaError, RuntimeError) as exc:
        logger.warning("could not look back on %s for %r: %s", topic, key, exc)
        return None
    finally:
        await consumer.stop()
