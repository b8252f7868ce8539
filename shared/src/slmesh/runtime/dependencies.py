"""Waiting for the broker and Redis at start-up, with backoff, saying what is awaited.

Services start in any order on a real deployment (and containers restart
together): a service whose broker is not up yet waits for it instead of
crashing, logging each attempt, and gives up with a clear message only after
`startup_wait_s`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiokafka.admin import AIOKafkaAdminClient

from slmesh.runtime.broker import admin_kwargs
from slmesh.runtime.embedded_redis import ping as ping_redis
from slmesh.runtime.service import lifecycle
from slmesh.runtime.settings import MeshSettings

logger = logging.getLogger(__name__)

FIRST_DELAY_S = 0.5
MAX_DELAY_S = 10.0


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


async def wait_until(what: str, probe: Callable[[], Awaitable[bool]], within_s: float) -> None:
    """Probe with exponential backoff until it answers; an error after `within_s`."""
    started = time.monotonic()
    delay = FIRST_DELAY_S
    attempt = 1
    while not await probe():
        waited = time.monotonic() - started
        if waited >= within_s:
            raise DependencyUnavailableError(f"{what} did not answer within {within_s:g} s")
        lifecycle.warning(
            "waiting for %s (attempt %d, %.0f s so far); next try in %.1f s",
            what,
            attempt,
            waited,
            delay,
        )
        await asyncio.sleep(delay)
        delay = min(delay * 2, MAX_DELAY_S)
        attempt += 1


async def wait_for_dependencies(settings: MeshSettings, *, redis: bool) -> None:
    await wait_until(
        f"the broker at {settings.bootstrap_servers}",
        lambda: broker_answers(settings),
        settings.startup_wait_s,
    )
    if redis:
        url = settings.redis_url.get_secret_value()
        await wait_until("Redis", lambda: ping_redis(url), settings.startup_wait_s)
