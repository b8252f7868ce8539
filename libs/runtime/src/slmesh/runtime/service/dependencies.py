"""Waiting for the broker and Redis at start-up, with backoff, saying what is awaited;
watching them while the service runs, saying when they stop answering and come back.

Services start in any order on a real deployment (and containers restart
together): a service whose broker is not up yet waits for it instead of
crashing, logging each attempt, and gives up with a clear message only after
`startup_wait_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from aiokafka.admin import AIOKafkaAdminClient
from redis.exceptions import RedisError

from slmesh.runtime.backoff import backoff
from slmesh.runtime.kafka.clients import admin_kwargs
from slmesh.runtime.kafka.security import check_tls
from slmesh.runtime.kafka.topics import (
    MissingTopicsError,
    TopicSpec,
    create_topics,
    list_topics,
)
from slmesh.runtime.lifecycle import Lifecycle
from slmesh.runtime.redis_connection import connect_redis
from slmesh.runtime.service.logs import lifecycle
from slmesh.runtime.service.topic_guard import TopicGuard
from slmesh.runtime.settings import MeshSettings

logger = logging.getLogger(__name__)

FIRST_DELAY_S = 0.5
MAX_DELAY_S = 10.0
REDIS_PROBE_TIMEOUT_S = 0.5


class DependencyUnavailableError(RuntimeError):
    """The broker or Redis did not answer within the start-up wait."""


async def broker_answers(settings: MeshSettings) -> bool:
    admin = AIOKafkaAdminClient(**admin_kwargs(settings), request_timeout_ms=3000)
    try:
        await admin.start()
        await admin.list_topics()
    except Exception as exc:  # aiokafka raises several kinds for "not there"
        logger.debug("broker probe failed: %s", exc)
        return False
    finally:
        await admin.close()
    return True


async def ping_redis(target: MeshSettings | str, within: float = REDIS_PROBE_TIMEOUT_S) -> bool:
    """Whether the mesh's Redis (or the one at a URL) answers PING within *within* seconds."""
    client = (
        aioredis.Redis.from_url(target, socket_connect_timeout=within, socket_timeout=within)
        if isinstance(target, str)
        else connect_redis(target, socket_connect_timeout=within, socket_timeout=within)
    )
    try:
        async with asyncio.timeout(within):
            return bool(await client.ping())
    except (TimeoutError, OSError, RedisError):
        return False
    finally:
        await client.aclose()


async def wait_until(
    what: str | Callable[[], str], probe: Callable[[], Awaitable[bool]], within_s: float
) -> None:
    """Probe with exponential backoff until it answers; an error after `within_s`.

    `what` is named in each warning; a callable says it anew each time (what is
    still missing).
    """
    started = time.monotonic()
    delays = backoff(FIRST_DELAY_S, MAX_DELAY_S)
    attempt = 1
    while not await probe():
        waited = time.monotonic() - started
        named = what() if callable(what) else what
        if waited >= within_s:
            raise DependencyUnavailableError(f"{named} did not answer within {within_s:g} s")
        delay = next(delays)
        lifecycle.warning(
            "waiting for %s (attempt %d, %.0f s so far); next try in %.1f s",
            named,
            attempt,
            waited,
            delay,
        )
        await asyncio.sleep(delay)
        attempt += 1


async def wait_for_dependencies(settings: MeshSettings, *, redis: bool) -> None:
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        # A TLS failure (untrusted certificate, client certificate refused) ends the
        # start at once, by name: waiting would never mend it.
        await wait_until(
            f"the broker at {settings.bootstrap_servers} (TLS)",
            lambda: check_tls(settings),
            settings.startup_wait_s,
        )
    await wait_until(
        f"the broker at {settings.bootstrap_servers}",
        lambda: broker_answers(settings),
        settings.startup_wait_s,
    )
    if redis:
        await wait_until("Redis", lambda: ping_redis(settings), settings.startup_wait_s)


async def prepare_topics(settings: MeshSettings, specs: list[TopicSpec]) -> None:
    """The topics a service needs at start: created where it may (dev), else awaited.

    In production topics are made by operators (`slmesh topics apply`): a
    service started before them waits, naming the missing ones, instead of
    crashing in a loop; MissingTopicsError after the start-up wait.
    """
    if settings.topics_created_here:
        await create_topics(settings, specs)
        return
    names = {spec.name for spec in specs}
    missing = sorted(names)

    async def all_there() -> bool:
        nonlocal missing
        missing = sorted(names - await list_topics(settings))
        return not missing

    def waited_for() -> str:
        return (
            f"topics {', '.join(missing)} (this service creates none here; "
            "run `slmesh topics apply`)"
        )

    try:
        await wait_until(waited_for, all_there, settings.startup_wait_s)
    except DependencyUnavailableError as exc:
        raise MissingTopicsError(
            f"topics missing after {settings.startup_wait_s:g} s: {', '.join(missing)}; create "
            "them with `slmesh topics apply` (services create none when "
            "SLMESH_DEPLOYMENT=production or SLMESH_CREATE_TOPICS=false)"
        ) from exc


class DependencyWatch(Lifecycle):
    """While a service runs, says when the broker (or Redis) stops answering, and when it is back.

    The Kafka clients ride out an outage on their own (they reconnect, and
    records whose handling failed are retried or redelivered), but they do
    it quietly: a frozen broker just makes requests wait. An operator should
    read in the log that the service is waiting, since when, and for what.
    """

    def __init__(
        self,
        settings: MeshSettings,
        *,
        redis: bool,
        interval_s: float = 5.0,
        remind_every_s: float = 30.0,
        topics: TopicGuard | None = None,
    ) -> None:
        self._settings = settings
        # Checked against the broker's topics at each probe that lists them.
        self._guard = topics
        self._listed: set[str] | None = None
        # One connection for every probe: a new client each time costs the
        # broker a connection, the idle mesh's largest cost after polling.
        self._admin: AIOKafkaAdminClient | None = None
        self._probes: dict[str, Callable[[], Awaitable[bool]]] = {
            f"the broker at {settings.bootstrap_servers}": self._broker_answers,
        }
        # Redis's probe keeps one client too (its pool keeps the connection between probes).
        self._redis: aioredis.Redis | None = None
        if redis:
            self._redis = connect_redis(
                settings,
                socket_connect_timeout=REDIS_PROBE_TIMEOUT_S,
                socket_timeout=REDIS_PROBE_TIMEOUT_S,
            )
            self._probes["Redis"] = self._redis_answers
        self._interval_s = interval_s
        self._remind_every_s = remind_every_s
        # What is down: since when, and when it was last said.
        self._down: dict[str, tuple[float, float]] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def down(self) -> list[str]:
        return sorted(self._down)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="dependency-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            # Never in the way of the rest of a shutdown.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._drop_admin()
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()

    async def _redis_answers(self) -> bool:
        assert self._redis is not None
        try:
            async with asyncio.timeout(REDIS_PROBE_TIMEOUT_S):
                return bool(await self._redis.ping())
        except (TimeoutError, OSError, RedisError):
            return False

    async def _broker_answers(self) -> bool:
        try:
            if self._admin is None:
                self._admin = AIOKafkaAdminClient(
                    **admin_kwargs(self._settings), request_timeout_ms=3000
                )
                await self._admin.start()
            self._listed = set(await self._admin.list_topics())
        except Exception as exc:  # aiokafka raises several kinds for "not there"
            logger.debug("broker probe failed: %s", exc)
            # A fresh connection next time: this one may be what broke.
            await self._drop_admin()
            return False
        return True

    async def _drop_admin(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            with contextlib.suppress(Exception):
                await admin.close()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            for what, probe in self._probes.items():
                asked = time.monotonic()
                try:
                    async with asyncio.timeout(self._interval_s):
                        answers = await probe()
                except Exception as exc:  # a probe that breaks says "not answering"
                    logger.debug("probe of %s failed: %s", what, exc)
                    answers = False
                self._report(what, answers, asked)
            listed, self._listed = self._listed, None
            if self._guard is not None and listed is not None:
                try:
                    await self._guard.check(listed)
                except Exception as exc:  # the broker went away again meanwhile
                    logger.warning("could not mend the topics yet: %s", exc)

    def _report(self, what: str, answers: bool, asked: float) -> None:
        now = time.monotonic()
        if answers:
            if what in self._down:
                since, _ = self._down.pop(what)
                lifecycle.info("%s answers again, after %.0f s", what, now - since)
            return
        if what not in self._down:
            # Down since the probe that found it so, not since that probe gave up.
            self._down[what] = (asked, now)
            lifecycle.warning(
                "%s is not answering; work waiting on it is retried until it is back", what
            )
            return
        since, said = self._down[what]
        if now - said >= self._remind_every_s:
            self._down[what] = (since, now)
            lifecycle.warning("%s is still not answering (%.0f s)", what, now - since)
