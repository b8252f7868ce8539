"""Gather-state writes in flight: the states this replica is writing while their tasks go out.

A request's tasks are published while its gather state is written to Redis,
not after: the write (a round trip to another process) then costs a
deterministic request nothing, since a task's reply takes a broker hop or
two to come back. A reply that nevertheless outruns the write, here or at
another replica, must not be taken for one whose state Redis lost:

- here, the reply's gathering waits for the write to finish (`settled`);
- at another replica, recording it finds no state, and is tried again for a
  while (`STATE_LOST_RETRIES_S`) before the request is answered as lost.
"""

from __future__ import annotations

import asyncio
import contextlib

from slmesh.orchestrator.gather.store import Opening

# How long a reply with no gather state is tried again before its request is
# answered as lost: far longer than an open takes, short beside a deadline.
STATE_LOST_RETRIES_S = (0.05, 0.1, 0.2, 0.4, 0.8)


class StateWritesInFlight:
    """The writes of new gather states under way here, by request id."""

    def __init__(self) -> None:
        self._writing: dict[str, asyncio.Future[Opening]] = {}

    def track(self, request_id: str, write: asyncio.Future[Opening]) -> None:
        """`write` writes the request's gather state; forgotten once it has."""
        self._writing[request_id] = write
        write.add_done_callback(lambda _: self._forget(request_id, write))

    def _forget(self, request_id: str, write: asyncio.Future[Opening]) -> None:
        if self._writing.get(request_id) is write:
            del self._writing[request_id]

    async def settled(self, request_id: str) -> None:
        """Returns once no write of the request's state is under way here.

        Whatever the write's outcome: a failed one is its taker's to retry,
        and the reply is recorded (or retried) as if it had come later.
        """
        write = self._writing.get(request_id)
        if write is None:
            return
        with contextlib.suppress(Exception):
            # Shielded: a cancelled reply handler must not cancel the write.
            await asyncio.shield(write)
