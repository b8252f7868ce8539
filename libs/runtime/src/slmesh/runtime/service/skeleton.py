"""One start/stop order for every slmesh service, written once.

A service starts in this order:

1. It waits for the broker, and for Redis when it keeps state there.
2. It creates its topics and the registry topic. What it knows of existing topics learns them.
3. Its own preparations run (an orchestrator reads the registry before it plans anything).
4. FastStream starts the subscribers.
5. What needs running consumers starts (a micromodel's announcements, the deadline sweeper).
6. The watch on the broker and Redis starts (it also notices topics the broker
   lost), then the health and metrics endpoints (when a port is set), and the
   ready line is logged (supervisors and tests wait for it).

Stopping goes the other way:

1. The watch stops.
2. The service's own stopping runs, in the given order (its consumers drain, the connections close).
3. After the broker has stopped, what must outlive it ends (a model's worker thread).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from faststream import FastStream

from slmesh.runtime.concurrency import Worker
from slmesh.runtime.kafka.consumption import ConcurrentConsumption
from slmesh.runtime.kafka.topics import TopicSpec
from slmesh.runtime.registry import registry_topic_spec
from slmesh.runtime.service.dependencies import (
    DependencyWatch,
    prepare_topics,
    wait_for_dependencies,
)
from slmesh.runtime.service.health import HealthServer
from slmesh.runtime.service.logs import READY_MARKER, faststream_logger, lifecycle
from slmesh.runtime.service.metrics import follow_lag
from slmesh.runtime.service.topic_guard import TopicGuard, TopicsLost
from slmesh.runtime.tracing import shutdown_tracing

if TYPE_CHECKING:
    from faststream.kafka import KafkaBroker

    from slmesh.runtime.settings import MeshSettings

Step = Callable[[], Awaitable[None]]


@dataclass
class ServiceSkeleton:
    """What a service brings; `app()` puts it in the one order.

    `ready_line` is the text after the READY_MARKER, e.g. "micromodel vat-rates
    0.1.0 consuming ...": built when the service is ready, so it can say what
    the service learnt while starting.
    """

    broker: KafkaBroker
    settings: MeshSettings
    topics: Sequence[str]
    ready_line: Callable[[], str]
    # Keeps state in Redis: it waits for Redis and watches it.
    uses_redis: bool = False
    # Told the topics once they exist (a TopicDirectory's `add`).
    topics_known: Callable[..., None] | None = None
    prepare: Sequence[Step] = ()
    when_consuming: Sequence[Step] = ()
    stopping: Sequence[Step] = ()
    after_broker: Sequence[Callable[[], object]] = ()
    # Whether the broker and Redis are watched once running: with the settings'
    # probes, unless told otherwise (watching Redis is optional for some).
    watch_redis: bool | None = None
    # What the health probes and the lag metric look at: the service's
    # consumers, and the threads its model calls run on.
    consumptions: Sequence[ConcurrentConsumption] = ()
    workers: Sequence[Worker] = ()
    # Told when the broker lost topics of this service (it restarted with its memory).
    topics_lost: Sequence[TopicsLost] = ()
    _watch: DependencyWatch | None = field(default=None, init=False)
    _health: HealthServer | None = field(default=None, init=False)
    _ready_now: bool = field(default=False, init=False)

    def app(self) -> FastStream:
        watch_redis = self.uses_redis if self.watch_redis is None else self.watch_redis
        guard = TopicGuard(self.settings, self._topic_specs())
        for listener in self.topics_lost:
            guard.on_lost(listener)
        self._watch = DependencyWatch(self.settings, redis=watch_redis, topics=guard)
        follow_lag([consumption.lag_rows for consumption in self.consumptions])
        if self.settings.http_port is not None:
            self._health = HealthServer(
                self.settings.http_port,
                host=self.settings.http_bind_host,
                liveness=[self._threads_not_stuck],
                readiness=[self._started, self._consumers_in_group, self._dependencies_answer],
            )
        return FastStream(
            self.broker,
            logger=faststream_logger,
            on_startup=[self._start],
            after_startup=[self._ready],
            on_shutdown=[self._stop],
            after_shutdown=[self._after_broker],
        )

    async def _start(self) -> None:
        await wait_for_dependencies(self.settings, redis=self.uses_redis)
        await prepare_topics(self.settings, self._topic_specs())
        if self.topics_known is not None:
            self.topics_known(*self.topics)
        for step in self.prepare:
            await step()

    async def _ready(self) -> None:
        for step in self.when_consuming:
            await step()
        assert self._watch is not None
        await self._watch.start()
        if self._health is not None:
            await self._health.start()
        self._ready_now = True
        lifecycle.info("%s: %s", READY_MARKER, self.ready_line())

    async def _stop(self) -> None:
        self._ready_now = False
        if self._health is not None:
            await self._health.stop()
        assert self._watch is not None
        await self._watch.stop()
        for step in self.stopping:
            await step()

    def _topic_specs(self) -> list[TopicSpec]:
        """The service's own topics and the registry, as they are created."""
        return [*(TopicSpec(name) for name in self.topics), registry_topic_spec(self.settings)]

    @property
    def health(self) -> HealthServer | None:
        return self._health

    def _started(self) -> list[str]:
        return [] if self._ready_now else ["starting or stopping"]

    def _consumers_in_group(self) -> list[str]:
        return [
            f"consumer {c.name} is not in its group {c.group}"
            for c in self.consumptions
            if not c.in_group()
        ]

    def _dependencies_answer(self) -> list[str]:
        down = self._watch.down if self._watch is not None else []
        return [f"{what} is not answering" for what in down]

    def _threads_not_stuck(self) -> list[str]:
        limit = self.settings.stuck_after_s
        return [
            f"{worker.name}: one call has run for {worker.busy_for():.0f} s (limit {limit:g} s)"
            for worker in self.workers
            if worker.busy_for() > limit
        ]

    async def _after_broker(self) -> None:
        for end in self.after_broker:
            end()
        # The last spans (the stop's own) go out before the process ends.
        shutdown_tracing()
