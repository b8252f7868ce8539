"""Records published again as they were, each marked as a replay of its source
(`slmesh-replay`, `slmesh-replay-source` headers), so a consumer or an operator tells it
from live traffic; or printed instead (`--dry-run`).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence
from typing import TextIO

import orjson
from aiokafka import AIOKafkaProducer

from slmesh.cli.records import Seen
from slmesh.runtime.kafka import admin_kwargs, profile_for
from slmesh.runtime.settings import MeshSettings

REPLAY = "slmesh-replay"
REPLAY_SOURCE = "slmesh-replay-source"
# A replayed request under a new id names the one it replays.
REPLAY_OF = "slmesh-replay-of"


def replay_headers(seen: Seen) -> list[tuple[str, bytes]]:
    """The record's own headers (its trace context too: the replay joins its trace),
    marked as a replay of where it came from."""
    kept = [(k, v.encode()) for k, v in seen.headers.items() if k not in (REPLAY, REPLAY_SOURCE)]
    source = f"{seen.topic}/{seen.partition}/{seen.offset}"
    return [*kept, (REPLAY, b"true"), (REPLAY_SOURCE, source.encode())]


class Progress:
    """`done/total` on one line of stderr, redrawn; silent when not a terminal."""

    def __init__(self, total: int, out: TextIO = sys.stderr, *, quiet: bool = False) -> None:
        self.total, self.done, self.out = total, 0, out
        self.shown = not quiet and out.isatty()

    def step(self) -> None:
        self.done += 1
        if self.shown:
            width = 30
            filled = int(width * self.done / max(self.total, 1))
            bar = "#" * filled + "." * (width - filled)
            self.out.write(f"\r[{bar}] {self.done}/{self.total}")
            if self.done == self.total:
                self.out.write("\n")
            self.out.flush()


class Republisher:
    """Publishes records again, at most `rate` a second."""

    def __init__(self, settings: MeshSettings, *, rate: float | None = None) -> None:
        self._producer = AIOKafkaProducer(
            **admin_kwargs(settings), **profile_for(settings).producer
        )
        self._interval = 1 / rate if rate else 0.0
        self._next = 0.0

    async def __aenter__(self) -> Republisher:
        try:
            await self._producer.start()
        except BaseException:
            await self._producer.stop()  # closed even when no broker answers
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    async def send(
        self, topic: str, value: bytes, key: str | None, headers: Sequence[tuple[str, bytes]]
    ) -> None:
        if self._interval:
            now = time.monotonic()
            if now < self._next:
                await asyncio.sleep(self._next - now)
            self._next = max(now, self._next) + self._interval
        await self._producer.send_and_wait(
            topic, value, key=key.encode() if key else None, headers=list(headers)
        )


async def republish(
    settings: MeshSettings,
    records: Sequence[Seen],
    *,
    to_topic: str | None = None,
    rate: float | None = None,
    progress: Progress | None = None,
) -> int:
    async with Republisher(settings, rate=rate) as publisher:
        for seen in records:
            await publisher.send(to_topic or seen.topic, seen.value, seen.key, replay_headers(seen))
            if progress is not None:
                progress.step()
    return len(records)


def dry_run_lines(records: Sequence[Seen]) -> list[str]:
    return [orjson.dumps(s.as_json()).decode() for s in records]
