"""Fetch waits that follow the traffic: short while records flow, long while idle.

On a broker that answers a fetch only when its wait expires (the embedded
Tansu does, see broker.PROFILES), the wait is what a hop costs while records
flow and what an idle consumer costs in polls while they do not: at 2 ms, an
idle dev stack of seven consumers kept the broker and the services at about
one core. So a consumer waits long (`idle_ms`) until a record comes, then
short (`busy_ms`) until nothing has come for `idle_after_s`. A process that
still expects records (an orchestrator whose calls run a model for seconds,
a client waiting for its response) is held in between (`hold_ms`): a reply
that comes after a second of inference waits a few milliseconds more, and
the model is not robbed of the CPU that polling every 2 ms would take.

A process's consumers share one pace: the orchestrator's replies consumer is
made busy by the request that will cause the replies, before they come. The
first request after a quiet spell pays at most one long wait per hop that
was idle; the ones that follow, none.

aiokafka reads `fetch_max_wait_ms` from its fetcher for every fetch request;
it has no public setter, so the pace sets it there (tested against the
aiokafka version in the lock file: tests/unit/runtime/kafka/test_pace.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

logger = logging.getLogger(__name__)

# How often a held pace asks again whether it may go idle.
HOLD_RECHECK_S = 0.5


class HasConsumer(Protocol):
    """A FastStream subscriber: its aiokafka consumer once started, else None."""

    consumer: Any


class FetchPace:
    def __init__(
        self,
        *,
        busy_ms: int,
        idle_ms: int,
        idle_after_s: float,
        hold_ms: int | None = None,
        hold_after_s: float | None = None,
        hold: Callable[[], bool] = lambda: False,
    ) -> None:
        self.busy_ms = busy_ms
        self.hold_ms = max(hold_ms or busy_ms, busy_ms)
        self.idle_ms = idle_ms
        self.idle_after_s = idle_after_s
        # Quiet for this long while still expecting records: held, not busy.
        self.hold_after_s = min(hold_after_s or idle_after_s, idle_after_s)
        self._subscribers: list[HasConsumer] = []
        self._consumers: list[Any] = []
        self._busy = False
        self._held = False
        self._last_record = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._broken = False
        # Stays busy while this says so (a client with requests out).
        self._hold = hold

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def wait_ms(self) -> int:
        """The wait a consumer should fetch with now."""
        if self._busy:
            return self.hold_ms if self._held else self.busy_ms
        return self.idle_ms

    def follow(self, subscriber: HasConsumer) -> None:
        """Pace a subscriber's consumer (created when the broker starts)."""
        self._subscribers.append(subscriber)

    def follow_consumer(self, consumer: Any) -> None:
        """Pace a consumer made by hand (a client's)."""
        self._consumers.append(consumer)
        self._set(consumer, self.wait_ms)

    def record_seen(self) -> None:
        """Records flow (or are about to): fetch with the short wait for a while."""
        loop = asyncio.get_running_loop()
        self._last_record = loop.time()
        if self._busy and not self._held:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._busy, self._held = True, False
        self._apply()
        self._timer = loop.call_at(self._last_record + self.hold_after_s, self._maybe_idle)

    def _maybe_idle(self) -> None:
        loop = asyncio.get_running_loop()
        quiet_s = loop.time() - self._last_record
        if self._hold():
            if quiet_s < self.hold_after_s:
                self._timer = loop.call_at(self._last_record + self.hold_after_s, self._maybe_idle)
                return
            if not self._held:
                self._held = True
                self._apply()
            self._timer = loop.call_later(HOLD_RECHECK_S, self._maybe_idle)
            return
        if quiet_s < self.idle_after_s:
            self._timer = loop.call_at(self._last_record + self.idle_after_s, self._maybe_idle)
            return
        self._busy, self._held = False, False
        self._timer = None
        self._apply()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _apply(self) -> None:
        wait = self.wait_ms
        for subscriber in self._subscribers:
            if subscriber.consumer is not None:
                self._set(subscriber.consumer, wait)
        for consumer in self._consumers:
            self._set(consumer, wait)

    def _set(self, consumer: Any, wait_ms: int) -> None:
        fetcher = getattr(consumer, "_fetcher", None)
        if fetcher is None:
            # Not started yet: it starts with the wait of its options (idle).
            return
        if not hasattr(fetcher, "_fetch_max_wait_ms"):
            if not self._broken:
                self._broken = True
                logger.error(
                    "this aiokafka keeps no fetch wait where slmesh sets it: consumers keep "
                    "the wait they started with (%d ms), hops are slower",
                    self.idle_ms,
                )
            return
        fetcher._fetch_max_wait_ms = wait_ms
