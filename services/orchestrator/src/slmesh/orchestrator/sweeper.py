"""Deadlines: requests past theirs are answered with what they have, whichever replica opened them.

A request whose completer died before saying it answered is taken over when
its lease runs out; the taker first looks back on the reply topic for the
answer the dead completer may have published.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from slmesh.orchestrator.callers import own_request_id
from slmesh.orchestrator.clock import now_ms
from slmesh.orchestrator.gather.state import GatherSnapshot
from slmesh.orchestrator.gather.store import Claim, GatherStorage
from slmesh.orchestrator.settings import OrchestratorSettings
from slmesh.runtime.tracing import resumed

logger = logging.getLogger(__name__)

# The longest the sweeper sleeps: requests other replicas open are swept this soon.
IDLE_SWEEP_S = 1.0
# Looking back for a dead completer's answer starts this much before its
# lease did: record timestamps come from the clock of whichever replica produced them.
LOOKBACK_SLACK_MS = 5_000

# Whether a record keyed (key) reached (topic) since (ms); None: it could not be told
# (lookback.published_since, bound to the settings).
PublishedSince = Callable[[str, bytes, int], Awaitable[bool | None]]


class Answer(Protocol):
    """Answers a request from its gather state (completion.Completion.answer)."""

    async def __call__(self, rid: str, snapshot: GatherSnapshot, *, expired: bool) -> None: ...


class Sweeper:
    def __init__(
        self,
        settings: OrchestratorSettings,
        store: GatherStorage,
        answer: Answer,
        forget_past_deadline: Callable[[], None],
        published_since: PublishedSince,
    ) -> None:
        self.settings = settings
        self.store = store
        self.answer = answer
        # dispatch.Outstanding's: the requests another replica may have answered.
        self.forget_past_deadline = forget_past_deadline
        self.published_since = published_since
        # Set when a request opens here: its deadline may be sooner than the sweeper's sleep.
        self._sweep_now = asyncio.Event()
        self._next_sweep_ms = 0.0

    def opened(self, deadline_ms: int) -> None:
        """A request opened here: sweep at its deadline if the sweeper would sleep past it."""
        if deadline_ms < self._next_sweep_ms:
            self._sweep_now.set()

    def wake(self) -> None:
        """Sweep now: deadlines were brought forward (the broker lost what they waited on, or a
        reply could not be gathered)."""
        self._sweep_now.set()

    async def sweep_forever(self) -> None:
        """Answer requests whose deadline passed, whichever replica started them.

        It sleeps until the next deadline or lease is due (at least the sweep
        interval, at most a second, for what other replicas open meanwhile),
        and wakes when this replica opens a request: an idle mesh is not polled.
        """
        interval = self.settings.sweep_interval_ms / 1000
        while True:
            pause = interval
            # Also forgets requests past their deadline that another replica answered.
            self.forget_past_deadline()
            try:
                claims = await self.store.claim_expired()
                # Side by side: each holds a lease, and a takeover may look back
                # on a topic for seconds; one after another, later leases would
                # run out and other replicas would answer those requests too.
                await asyncio.gather(*(self._finish(claim) for claim in claims))
                due_ms = await self.store.next_due_ms()
                until_due = IDLE_SWEEP_S if due_ms is None else (due_ms - now_ms()) / 1000
                pause = min(max(until_due, interval), IDLE_SWEEP_S)
            except Exception:
                logger.exception("deadline sweep failed; retrying")
            self._sweep_now.clear()
            self._next_sweep_ms = now_ms() + pause * 1000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sweep_now.wait(), pause)

    async def _finish(self, claim: Claim) -> None:
        rid = claim.request_id
        snapshot = await self.store.snapshot(rid)
        if snapshot is None:
            logger.error("request %s has no gather state left; it cannot be answered", rid)
            return
        since_ms = claim.taken_over_since_ms
        if since_ms is not None and await self._answered_before(rid, snapshot, since_ms):
            return
        # No record to continue: the answer joins the request's trace through its state.
        with resumed(snapshot.request.traceparent, "deadline passed", **{"slmesh.request_id": rid}):
            await self.answer(rid, snapshot, expired=True)

    async def _answered_before(self, rid: str, snapshot: GatherSnapshot, since_ms: int) -> bool:
        """Whether the replica we took `rid` over from published its answer before dying."""
        # Answers are keyed by the caller's own request id, on its own topic.
        published = await self.published_since(
            snapshot.request.reply_topic,
            own_request_id(rid).encode(),
            since_ms - LOOKBACK_SLACK_MS,
        )
        if published:
            logger.info("request %s was answered by a replica that died before saying so", rid)
            await self.store.mark_done(rid)
            return True
        if published is None:
            # Cannot tell: a second answer is better than none (at-least-once).
            logger.warning("request %s: answering again, as its first answer is not known", rid)
        return False
