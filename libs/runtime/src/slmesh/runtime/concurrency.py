"""The one place where blocking work leaves the event loop.

Kafka heartbeats run on the loop (aiokafka #848): a handler that blocks it
gets its consumer thrown out of the group and its record redelivered forever.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class Worker:
    """Worker threads: one handler call at a time by default, in arrival order.

    One thread, because a llama.cpp context runs one completion at a time
    (llama-cpp-python #1529) and a deterministic handler needs no more. A remote
    model's calls wait on the network, not a CPU: `threads` of them run at once.
    Each call runs in its caller's context, so the spans it opens nest under the
    caller's and its log lines say what they are about.
    """

    def __init__(self, name: str, *, threads: int = 1) -> None:
        self.name = name
        self.threads = threads
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)
        self.pending = 0  # calls queued or running: lets optional work step aside
        # When each running call started (monotonic), by call: a liveness probe tells a
        # long call from a thread that is stuck.
        self._started: dict[int, float] = {}
        self._calls = itertools.count()

    async def run(self, fn: Callable[[], T]) -> T:
        self.pending += 1
        try:
            context = contextvars.copy_context()
            return await asyncio.get_running_loop().run_in_executor(
                self._pool, context.run, self._timed(fn)
            )
        finally:
            self.pending -= 1

    def _timed(self, fn: Callable[[], T]) -> Callable[[], T]:
        call_id = next(self._calls)

        def call() -> T:
            self._started[call_id] = time.monotonic()
            try:
                return fn()
            finally:
                self._started.pop(call_id, None)

        return call

    def busy_for(self) -> float:
        """Seconds the longest running call has taken so far; 0 while idle."""
        # A copy taken in one step (the GIL holds for it): threads add and drop calls.
        started = min(tuple(self._started.values()), default=None)
        return time.monotonic() - started if started is not None else 0.0

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
