"""Fetch waits follow the traffic: short while records flow, long while a process is idle."""

from __future__ import annotations

import asyncio
import inspect
from types import SimpleNamespace
from typing import Any

from aiokafka.consumer.fetcher import Fetcher

from slmesh.runtime.kafka import fetch_pace
from slmesh.runtime.kafka.pace import FetchPace
from slmesh.runtime.settings import MeshSettings


def consumer(wait_ms: int) -> Any:
    return SimpleNamespace(_fetcher=SimpleNamespace(_fetch_max_wait_ms=wait_ms))


def waits(*consumers: Any) -> list[int]:
    return [c._fetcher._fetch_max_wait_ms for c in consumers]


async def test_a_record_makes_every_consumer_of_the_process_fast_then_idle_again() -> None:
    pace = FetchPace(busy_ms=2, idle_ms=100, idle_after_s=0.2)
    requests = SimpleNamespace(consumer=consumer(100))
    replies = SimpleNamespace(consumer=consumer(100))
    pace.follow(requests)
    pace.follow(replies)

    pace.record_seen()
    assert waits(requests.consumer, replies.consumer) == [2, 2]
    await asyncio.sleep(0.1)
    pace.record_seen()  # still flowing: the quiet spell starts again
    await asyncio.sleep(0.15)
    assert pace.busy
    await asyncio.sleep(0.2)
    assert not pace.busy
    assert waits(requests.consumer, replies.consumer) == [100, 100]


async def test_a_subscriber_not_started_yet_is_paced_once_it_is() -> None:
    pace = FetchPace(busy_ms=2, idle_ms=100, idle_after_s=0.05)
    subscriber = SimpleNamespace(consumer=None)
    pace.follow(subscriber)
    pace.record_seen()  # nothing to set yet, and no error
    subscriber.consumer = consumer(100)
    await asyncio.sleep(0.1)
    pace.record_seen()
    assert waits(subscriber.consumer) == [2]
    pace.stop()


async def test_a_hold_keeps_it_fast_while_work_is_out() -> None:
    waiting = {"req-1"}
    pace = FetchPace(busy_ms=2, idle_ms=100, idle_after_s=0.05, hold=lambda: bool(waiting))
    client = consumer(100)
    pace.follow_consumer(client)
    pace.record_seen()
    await asyncio.sleep(0.2)
    assert waits(client) == [2], "a response is awaited: no slow fetch for it"
    waiting.clear()
    await asyncio.sleep(1.2)
    assert waits(client) == [100]


def test_profiles_pace_where_the_broker_answers_fetches_late() -> None:
    tansu = fetch_pace(MeshSettings(broker_profile="tansu"))
    assert tansu is not None
    assert tansu.busy_ms == 5
    # A first request after a quiet spell meets two idle hops (its own and its
    # tasks'): with room for the hops themselves, within the 400 ms it may take.
    assert tansu.idle_ms >= 100
    assert 2 * tansu.idle_ms <= 360
    # A model's task consumer: its first task after a quiet spell is never in a hurry.
    model = fetch_pace(MeshSettings(broker_profile="tansu"), for_model=True)
    assert model is not None
    assert (model.busy_ms, model.idle_ms) == (25, 500)
    assert model.idle_after_s > tansu.idle_after_s
    # Apache Kafka answers a fetch when data arrives: one wait serves both.
    assert fetch_pace(MeshSettings(broker_profile="kafka")) is None


def test_aiokafka_reads_the_fetch_wait_where_the_pace_sets_it() -> None:
    """The pace sets a private attribute: this fails if an aiokafka upgrade moves it."""
    assert "self._fetch_max_wait_ms = fetch_max_wait_ms" in inspect.getsource(Fetcher.__init__)
    assert "self._fetch_max_wait_ms" in inspect.getsource(Fetcher._get_actions_per_node)


async def test_a_process_still_expecting_records_is_held_between_fast_and_idle() -> None:
    """An orchestrator whose calls run a model: no 2 ms polling through the inference."""
    expecting = {"req-1"}
    pace = FetchPace(
        busy_ms=2, idle_ms=100, idle_after_s=0.05, hold_ms=25, hold=lambda: bool(expecting)
    )
    replies = SimpleNamespace(consumer=consumer(100))
    pace.follow(replies)
    pace.record_seen()
    assert waits(replies.consumer) == [2]
    await asyncio.sleep(0.15)
    assert waits(replies.consumer) == [25]
    pace.record_seen()  # the reply came: fast again
    assert waits(replies.consumer) == [2]
    expecting.clear()
    await asyncio.sleep(0.7)
    assert waits(replies.consumer) == [100]
