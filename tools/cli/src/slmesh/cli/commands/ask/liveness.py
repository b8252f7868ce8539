"""Is anyone taking the requests? A client's check before it sends one and while it waits.

A consumer group serves its topic when it has members and its commits move
wherever records wait for it. Both are read from the broker, so any client
can check:

- members: DescribeGroups lists them. Apache Kafka drops a member whose
  session runs out, so a group whose consumers all died is soon empty.
  Tansu (0.6) drops a dead member only when its group's coordinator is sent
  a heartbeat (it drops every member whose session ran out, then answers),
  so the last consumer to die stays listed: one SIGKILLed consumer was
  still listed, group "Stable", long after its 4 s session had run out.
  So each look first sends the coordinator a heartbeat as nobody: refused
  (unknown member), it changes nothing else, on either broker. An empty
  group is a sure sign (no consumer ever joined, the last one left on
  purpose, or every one died).
- progress: where the group's committed offset is behind a partition's end,
  records wait for it. A live consumer commits them as it handles them; a
  dead one never does. This catches the dead member Tansu keeps listing.

Grace periods keep a consumer that is being restarted, or a broker that
paused, from being taken for dead: "no member" must last `grace_s`, "no
progress" `stall_s`. The orchestrators commit a request once it is
planned and its calls are out, so `stall_s` must also cover the longest
planning of a busy orchestrator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaError,
    TopicAuthorizationFailedError,
    for_code,
)
from aiokafka.protocol.group import HeartbeatRequest

from slmesh.runtime.kafka import admin_kwargs, groupless_consumer, partitions_of
from slmesh.runtime.kafka.groups import ORCHESTRATOR_REPLIES_GROUP, ORCHESTRATOR_REQUESTS_GROUP
from slmesh.runtime.lifecycle import Lifecycle
from slmesh.runtime.settings import MeshSettings

__all__ = [
    "ORCHESTRATOR_REPLIES_GROUP",
    "ORCHESTRATOR_REQUESTS_GROUP",
    "BrokerUnreachableError",
    "ConsumerWatch",
    "Consumption",
    "NoLiveConsumerError",
    "orchestrator_consumption",
]

logger = logging.getLogger(__name__)

# The member id of the heartbeat that makes Tansu drop members whose session ran out.
NOBODY = "slmesh-liveness-probe"

T = TypeVar("T")
# One look at the broker, at a given time: what it found wrong, in words.
_Look = Callable[[float], Awaitable[list[str]]]


class NoLiveConsumerError(RuntimeError):
    """Nobody in a consumer group is taking the records of its topic."""


class BrokerUnreachableError(ConnectionError):
    """The broker does not answer."""


@dataclass(frozen=True)
class Consumption:
    """A topic, and the consumer group that should be taking its records."""

    group: str
    topic: str


def orchestrator_consumption(settings: MeshSettings) -> tuple[Consumption, ...]:
    """What live orchestrators consume: the requests, and the replies to the calls they made.

    The replies matter too: an orchestrator that dies after taking a request
    leaves its replies waiting.
    """
    return (
        Consumption(ORCHESTRATOR_REQUESTS_GROUP, settings.requests_topic),
        Consumption(ORCHESTRATOR_REPLIES_GROUP, settings.replies_topic),
    )


@dataclass
class _Waiting:
    """Records wait for a group on a partition; its commit stood at `committed` since `since`."""

    committed: int
    since: float


class ConsumerWatch(Lifecycle):
    """Watches consumer groups for members and progress; raises when nobody consumes.

    Typical use by a client that sends one request and waits for its answer::

        async with ConsumerWatch(settings, orchestrator_consumption(settings)) as watch:
            await watch.until_members()
            future = await client.submit(request)
            response = await watch.guard(future)

    :class:`NoLiveConsumerError` says why nobody consumes, and
    :class:`BrokerUnreachableError` that the broker stopped answering.
    """

    def __init__(
        self,
        settings: MeshSettings,
        watched: Sequence[Consumption],
        *,
        # A restarted orchestrator (process start, imports, model load, group join) left its
        # group memberless for 12 s on a busy 2-core machine: asked meanwhile, a request is
        # answered once it is back, not refused.
        grace_s: float = 20.0,
        stall_s: float = 15.0,
        interval_s: float = 1.0,
        call_timeout_s: float = 3.0,
    ) -> None:
        if not watched:
            raise ValueError("nothing to watch")
        self.settings = settings
        self.watched = tuple(watched)
        self.grace_s = grace_s
        self.stall_s = stall_s
        self.interval_s = interval_s
        self.call_timeout_s = call_timeout_s
        self._admin = AIOKafkaAdminClient(
            **admin_kwargs(settings), request_timeout_ms=int(call_timeout_s * 1000)
        )
        self._consumer = groupless_consumer(settings)
        self._partitions: dict[Consumption, list[TopicPartition]] = {}
        self._waiting: dict[tuple[str, TopicPartition], _Waiting] = {}
        self._memberless_since: float | None = None
        self._silent_since: float | None = None
        # Set when the broker refuses to describe the groups to us: then we
        # cannot tell, and a check must not fail a client for that.
        self._blind = False

    @property
    def groups(self) -> list[str]:
        return list(dict.fromkeys(c.group for c in self.watched))

    async def start(self) -> None:
        where = self.settings.bootstrap_servers
        try:
            await self._admin.start()
            await self._consumer.start()
        except KafkaError as exc:
            await self.stop()
            raise BrokerUnreachableError(f"cannot reach the broker at {where}: {exc}") from exc
        for consumption in self.watched:
            try:
                tps = await partitions_of(self._consumer, consumption.topic)
            except RuntimeError as exc:
                await self.stop()
                raise NoLiveConsumerError(
                    f"topic {consumption.topic} does not exist on the broker at {where}: "
                    "no mesh was set up there"
                ) from exc
            self._partitions[consumption] = tps

    async def stop(self) -> None:
        with contextlib.suppress(KafkaError):
            await self._consumer.stop()
        with contextlib.suppress(KafkaError):
            await self._admin.close()

    async def members(self, group: str) -> list[str]:
        """The member ids the broker lists for `group`, once those whose session ran out
        are dropped (a member that died within its session may still be among them)."""
        coordinator = await self._admin.find_coordinator(group)
        # Refused (unknown member) by design: what counts is that it was sent. aiokafka's
        # admin client has no public way to send it; should that private method go, the
        # stall check still catches a dead member, later (test_ask_command tells which).
        with contextlib.suppress(KafkaError, AttributeError):
            await self._admin._send_request(HeartbeatRequest(group, -1, NOBODY), coordinator)
        [response] = await self._admin.describe_consumer_groups(
            [group], group_coordinator_id=coordinator
        )
        found: list[str] = []
        for described in response.to_object()["groups"]:
            if described["error_code"]:
                raise for_code(described["error_code"])(f"describing group {group}")
            found.extend(member["member_id"] for member in described["members"])
        return found

    async def until_members(self) -> None:
        """Return once every watched group has a member; NoLiveConsumerError after `grace_s`."""
        self._memberless_since = None
        while True:
            if not await self._memberless(time.monotonic()):
                return
            await asyncio.sleep(self.interval_s)

    async def check(self) -> None:
        """One look at the groups: raises when nobody has consumed for longer than allowed."""
        now = time.monotonic()
        if await self._memberless(now):
            return
        stalled = await self._look(self._stalls, now)
        if stalled:
            raise NoLiveConsumerError(
                f"{stalled[0]}, although the broker lists members (a member that died "
                "within its session is still listed)"
            )

    async def guard(self, awaitable: Awaitable[T]) -> T:
        """Await `awaitable`, checking every `interval_s`; it is cancelled when a check fails."""
        waiting = asyncio.ensure_future(awaitable)
        try:
            while True:
                done, _ = await asyncio.wait({waiting}, timeout=self.interval_s)
                if waiting in done:
                    return waiting.result()
                # The answer may arrive during a slow check: whichever comes first.
                look = asyncio.ensure_future(self.check())
                either: set[asyncio.Future[Any]] = {waiting, look}
                finished, _ = await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                if waiting in finished:
                    look.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await look
                    return waiting.result()
                look.result()
        finally:
            waiting.cancel()

    async def _memberless(self, now: float) -> bool:
        """Whether some group has no member now; raises once that has lasted `grace_s`."""
        empty = await self._look(self._groups_without_members, now)
        if empty is None:
            # Not told this time: wait on, unless we shall never be told.
            return not self._blind
        if not empty:
            self._memberless_since = None
            return False
        if self._memberless_since is None:
            self._memberless_since = now
        if now - self._memberless_since >= self.grace_s:
            raise NoLiveConsumerError(
                f"consumer group {empty[0]} has had no member for {self.grace_s:g} s"
            )
        return True

    async def _groups_without_members(self, now: float) -> list[str]:
        return [group for group in self.groups if not await self.members(group)]

    async def _stalls(self, now: float) -> list[str]:
        """Partitions whose waiting records no commit has moved for `stall_s`, said in words."""
        stalled: list[str] = []
        for consumption in self.watched:
            tps = self._partitions[consumption]
            committed = await self._admin.list_consumer_group_offsets(
                consumption.group, partitions=tps
            )
            ends = await self._consumer.end_offsets(tps)
            for tp in tps:
                meta = committed.get(tp)
                # Never committed: the group starts from the beginning (earliest).
                at = max(meta.offset if meta is not None else -1, 0)
                key = (consumption.group, tp)
                seen = self._waiting.get(key)
                if ends[tp] <= at:
                    self._waiting.pop(key, None)
                elif seen is None or seen.committed != at:
                    self._waiting[key] = _Waiting(at, now)
                elif now - seen.since >= self.stall_s:
                    stalled.append(
                        f"{ends[tp] - at} record(s) on {tp.topic}[{tp.partition}] waited "
                        f"{now - seen.since:.0f} s with no commit by consumer group "
                        f"{consumption.group}"
                    )
        return stalled

    async def _look(self, what: _Look, now: float) -> list[str] | None:
        """One look at the broker; None when it did not tell.

        Its silence is tolerated for `grace_s`, then raised as unreachable.
        """
        if self._blind:
            return None
        try:
            async with asyncio.timeout(self.call_timeout_s):
                result = await what(now)
        except (GroupAuthorizationFailedError, TopicAuthorizationFailedError) as exc:
            logger.warning("cannot tell whether anyone consumes: %s; not checking", exc)
            self._blind = True
            return None
        except (KafkaError, TimeoutError, OSError) as exc:
            if self._silent_since is None:
                self._silent_since = now
            if now - self._silent_since >= self.grace_s:
                raise BrokerUnreachableError(
                    f"the broker at {self.settings.bootstrap_servers} has not answered for "
                    f"{now - self._silent_since:.0f} s ({exc or type(exc).__name__})"
                ) from exc
            return None
        self._silent_since = None
        return result
