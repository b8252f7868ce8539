"""What is on the broker, read from the topics alone: `slmesh topics`."""

from __future__ import annotations

from dataclasses import dataclass

from slmesh.runtime.kafka import groupless_consumer, list_topics, partitions_of
from slmesh.runtime.settings import MeshSettings

# Every topic of the mesh starts so (requests, replies, tasks.*, registry, ...).
MESH_PREFIX = "slmesh."


@dataclass(frozen=True)
class TopicRow:
    name: str
    partitions: int
    # Records still held: end offset minus beginning offset, summed over partitions.
    records: int
    # The next offset of each partition, in partition order.
    end_offsets: list[int]


async def topic_rows(settings: MeshSettings, *, every: bool = False) -> list[TopicRow]:
    """The mesh's topics (every topic on the broker with `every`), by name."""
    names = sorted(t for t in await list_topics(settings) if every or t.startswith(MESH_PREFIX))
    consumer = groupless_consumer(settings)
    await consumer.start()
    try:
        rows = []
        for name in names:
            tps = sorted(await partitions_of(consumer, name), key=lambda tp: tp.partition)
            ends = await consumer.end_offsets(tps) if tps else {}
            starts = await consumer.beginning_offsets(tps) if tps else {}
            rows.append(
                TopicRow(
                    name=name,
                    partitions=len(tps),
                    records=sum(ends[tp] - starts[tp] for tp in tps),
                    end_offsets=[ends[tp] for tp in tps],
                )
            )
        return rows
    finally:
        await consumer.stop()


def format_topics(rows: list[TopicRow]) -> str:
    if not rows:
        return "no mesh topics on the broker (is the mesh running? `slmesh dev` starts one)"
    width = max(len(r.name) for r in rows)
    lines = [f"{'topic'.ljust(width)}  partitions  records  end offsets"]
    for r in rows:
        ends = " ".join(str(e) for e in r.end_offsets)
        lines.append(f"{r.name.ljust(width)}  {r.partitions:>10}  {r.records:>7}  {ends}")
    return "\n".join(lines)
