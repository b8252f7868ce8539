"""When the broker loses the mesh's topics: the requests waiting on it are answered at once.

A broker that keeps topics in memory only (the embedded one) loses every
topic and record when it restarts. The gather states in Redis survive, but
the tasks and replies they wait for are gone: those requests would wait out
their deadlines for nothing. So they are answered now, as failed or partial
with `state_lost` naming the cause, and topics this replica knew are asked
about again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from slmesh.orchestrator.clock import now_ms
from slmesh.orchestrator.gather.store import GatherStorage

logger = logging.getLogger(__name__)


class BrokerLoss:
    def __init__(
        self,
        store: GatherStorage,
        forget_topics: Callable[[], None],
        wake_sweeper: Callable[[], None],
    ) -> None:
        self.store = store
        # The topics known to exist are asked about again (runtime.kafka.TopicDirectory.forget).
        self.forget_topics = forget_topics
        # The requests expired here are answered at once (Sweeper.wake).
        self.wake_sweeper = wake_sweeper

    async def topics_lost(self, missing: list[str]) -> None:
        self.forget_topics()
        lost_at = await self.store.broker_lost_at(int(now_ms()))
        when = datetime.fromtimestamp(lost_at / 1000, UTC).strftime("%H:%M:%S UTC")
        cause = (
            f"the broker lost the mesh's topics (it restarted without its data) by {when}, "
            "and with them this request's tasks or replies"
        )
        expired = await self.store.expire_open(received_before_ms=lost_at, note={"cause": cause})
        if expired:
            logger.warning(
                "the broker lost %s; answering %d request(s) in flight now: %s",
                ", ".join(missing),
                len(expired),
                ", ".join(expired[:10]),
            )
            self.wake_sweeper()
