"""The one place where blocking work leaves the event loop.

Kafka heartbeats run on the loop (aiokafka #848): a handler that blocks it
gets its consumer thrown out of the group and its record redelivered forever.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class Worker:
    """A single worker thread: one handler call at a time, in arrival order.

    One thread, because a llama.cpp context runs one completion at a time
    (llama-cpp-python #1529) and a deterministic handler needs no more.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self.pending = 0  # calls queued or running: lets optional work step aside
        # When the running call started (monotonic), None while idle: a liveness
        # probe tells a long call from a thread that is stuck.
        self._started: float | None = None

    async def run(self, fn: Callable[[], T]) -> T:
        self.pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, self._timed(fn))
        finally:
            self.pending -= 1

    def _timed(self, fn: Callable[[], T]) -> Callable[[], T]:
        def call() -> T:
            self._started = time.monotonic()
            try:
                return fn()
            finally:
                self._started = None

        return call

    def busy_for(self) -> float:
        """Seconds the running call has taken so far; 0 while idle."""
        started = self._started
        return time.monotonic() - started if started is not None else 0.0

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
