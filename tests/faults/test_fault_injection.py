"""Fault injection: requests keep flowing while replicas are SIGKILLed and restarted.

The mesh runs as real processes — the embedded broker, a Redis the suite
started, two orchestrator replicas and two replicas of each micromodel. At
least 200 requests are sent (VAT questions planned by rules; one in seven a
summary or classification by real inference) while a killer SIGKILLs a random replica
every couple of seconds and starts a replacement. Every response on the
responses topic is counted by request id: the suite fails on any request
without a response (lost) or with more than one (duplicated).

The orchestrators plan by rules here (SLMESH_PLANNER=rules): planning quality
has its own tests; this suite is about delivery, and CPU left to the
micromodels keeps its runtime inside CI's budget.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import cast

import orjson
import pytest

from slmesh.cli.devstack import DevStack, RedisHandle, ServiceProcess
from slmesh.orchestrator.gather.store import GatherStore
from slmesh.runtime.client import MeshClient
from slmesh.runtime.trust import response_topic
from slmesh.schemas import RequestSubmitted
from tests.support.identities import DEV_CALLER
from tests.support.kit import TopicTap, mesh_id
from tests.support.mesh import logged_mesh

# A longer or harsher run than CI's: `SLMESH_FAULT_REQUESTS=1000 make test-faults`,
# `SLMESH_FAULT_KILL_EVERY_S=0.8,1.2`.
REQUESTS = int(os.environ.get("SLMESH_FAULT_REQUESTS", "200"))
MIN_KILLS = 10
KILL_EVERY_S = cast(
    tuple[float, float],
    tuple(float(x) for x in os.environ.get("SLMESH_FAULT_KILL_EVERY_S", "1.5,2.5").split(",")),
)
SEND_EVERY_S = 0.12
# Long enough to outlive a rebalance after a kill (session timeout + rejoin),
# so most requests end ok; partial answers are allowed, losses are not.
REQUEST_TIMEOUT_MS = 60_000
DRAIN_S = 150.0
COUNTRIES = ["Germany", "France", "Italy", "Spain", "Poland", "Austria", "Belgium", "Ireland"]
TEXTS = [
    "Heavy snow closed the mountain pass on Friday night; one lane reopens on Sunday.",
    "The council approved new bicycle lanes on Main Street after residents complained.",
    "Our quarterly revenue grew by a tenth while costs stayed flat, the board reported.",
]


@pytest.fixture(scope="module")
async def stack(
    redis_server: RedisHandle, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[DevStack]:
    async with logged_mesh(
        tmp_path_factory,
        "faults",
        redis_server,
        orchestrator_replicas=2,
        micromodel_replicas=2,
        env={
            "SLMESH_PLANNER": "rules",
            "SLMESH_MODEL__THREADS": "1",
            # Requests pile up while replicas are down: this suite is about losing none,
            # not about a caller's cap on its open requests.
            "SLMESH_MAX_IN_FLIGHT_PER_CALLER": "100000",
        },
    ) as mesh:
        yield mesh


def request_for(client: MeshClient, rng: random.Random) -> RequestSubmitted:
    # Mostly deterministic calls: with two replicas of each of four micromodels on
    # two cores, inference capacity (not delivery) bounds how many SLM calls meet
    # their deadline; without kills, 30% SLM calls left a fifth of them past it.
    kind = rng.random()
    if kind < 0.86:
        names = rng.sample(COUNTRIES, rng.randint(1, 3))
        return client.request(f"VAT rates in {' and '.join(names)}", timeout_ms=REQUEST_TIMEOUT_MS)
    text = rng.choice(TEXTS)
    if kind < 0.93:
        call = {"micromodel": "summarizer", "arguments": {"text": text, "max_words": 6}}
    else:
        labels = ["transport", "politics", "business"]
        call = {"micromodel": "classifier", "arguments": {"text": text, "labels": labels}}
    return client.request("fault suite call", timeout_ms=REQUEST_TIMEOUT_MS, calls=[call])


class Killer:
    """SIGKILLs a random replica, then starts a replacement with a fresh name."""

    def __init__(self, stack: DevStack, rng: random.Random) -> None:
        self.stack = stack
        self.rng = rng
        self.kills: list[str] = []
        self.replaced = 0
        self._modules = {
            **{name: module for name, module in stack.config.micromodels.items()},
            "orchestrator": "slmesh.orchestrator",
        }

    def _victims(self) -> list[ServiceProcess]:
        # Ready and not killed already (a killed process reads as running until reaped).
        return [s for s in self.stack.services if s.state == "running" and s.name not in self.kills]

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set() or len(self.kills) < MIN_KILLS:
            await asyncio.sleep(self.rng.uniform(*KILL_EVERY_S))
            victims = self._victims()
            if not victims:
                continue  # everything is still starting (a slow machine): wait
            victim = self.rng.choice(victims)
            victim.kill()
            self.kills.append(victim.name)
            kind = next(k for k in self._modules if victim.name.startswith(k))
            self.replaced += 1
            replacement = self.stack.add_service(f"{kind}-r{self.replaced}", self._modules[kind])
            await replacement.start()
            # Not waited for: the next kill may come while it is still starting.


# Sending, draining, and the stack's start: a longer run gets a longer budget.
@pytest.mark.timeout(REQUESTS * SEND_EVERY_S + DRAIN_S + 150)
async def test_no_response_is_lost_or_duplicated_while_replicas_die(stack: DevStack) -> None:
    rng = random.Random(20261122)
    settings = stack.settings()
    responses = TopicTap(settings, response_topic(settings.responses_topic, DEV_CALLER))
    await responses.start()
    killer = Killer(stack, rng)
    stop_killing = asyncio.Event()
    sent: list[str] = []
    started = time.monotonic()
    async with MeshClient(settings, source="/slmesh/fault-suite") as client:
        killing = asyncio.create_task(killer.run(stop_killing))
        futures = []
        for _ in range(REQUESTS):
            request = request_for(client, rng)
            sent.append(request.requestid)
            futures.append(await client.submit(request))
            await asyncio.sleep(SEND_EVERY_S)
        # The killer goes on until it reached its minimum, then the mesh heals.
        stop_killing.set()
        await killing
        await asyncio.wait(futures, timeout=DRAIN_S)
        # Late duplicates would arrive after the first response: give them time.
        await asyncio.sleep(5)
    # Count from every record the topic holds, not from what the tap had read so far.
    await responses.caught_up()
    await responses.stop()
    by_client = {rid for rid, future in zip(sent, futures, strict=True) if future.done()}

    ours = set(sent)
    seen = Counter(r.key.decode() for r in responses.records if r.key and r.key.decode() in ours)
    statuses = Counter(
        orjson.loads(r.value)["data"]["status"]
        for r in responses.records
        if r.key and r.key.decode() in ours and r.value
    )
    errors = Counter(
        (orjson.loads(r.value)["data"].get("error") or {}).get("code", "")
        for r in responses.records
        if r.key and r.key.decode() in ours and r.value
    )
    missing = Counter(
        call["micromodel"]
        for r in responses.records
        if r.key and r.key.decode() in ours and r.value
        for call in orjson.loads(r.value)["data"]["calls"]
        if call["status"] != "ok"
    )
    lost = [rid for rid in sent if seen[rid] == 0]
    duplicated = [rid for rid in sent if seen[rid] > 1]
    print(
        f"\nfault suite: {len(sent)} requests, {len(killer.kills)} SIGKILLs "
        f"({', '.join(killer.kills)}), {len(seen)} answered in {time.monotonic() - started:.0f} s; "
        f"ok {statuses['ok']}, partial {statuses['partial']}, failed {statuses['failed']}; "
        f"lost {len(lost)}, duplicated {len(duplicated)}; errors: {dict(errors)}; "
        f"calls not answered, by micromodel: {dict(missing)}"
    )
    assert len(sent) >= REQUESTS
    assert len(killer.kills) >= MIN_KILLS
    if lost:
        # Where each lost request got stuck, for the failure message.
        store = GatherStore.from_url(settings.redis_url.get_secret_value())
        states = {
            rid: (
                await store.state(mesh_id(rid)),
                "client has it" if rid in by_client else "client too",
            )
            for rid in lost
        }
        await store.close()
        raise AssertionError(f"lost (gather state of each; did the client see it?): {states}")
    assert duplicated == [], f"duplicated: {duplicated[:10]}"


async def test_a_redis_restart_leaves_no_request_hanging(
    stack: DevStack, redis_server: RedisHandle
) -> None:
    """Redis restarts empty while calls run: each request completes or fails plainly."""
    settings = stack.settings()
    call = {"micromodel": "summarizer", "arguments": {"text": TEXTS[0], "max_words": 6}}
    async with MeshClient(settings, source="/slmesh/fault-suite") as client:
        in_flight = [
            await client.submit(client.request("restart", timeout_ms=30_000, calls=[call]))
            for _ in range(4)
        ]
        await asyncio.sleep(0.2)
        await redis_server.restart()
        answers = await asyncio.wait_for(asyncio.gather(*in_flight), DRAIN_S)
        # Their gather state is gone: a reply for it fails the request once, saying so.
        for answer in answers:
            if answer.data.status != "ok":
                assert answer.data.error is not None
                assert answer.data.error.code == "state_lost", answer.data.answer
        print(
            "\nredis restart: "
            + ", ".join(a.data.error.code if a.data.error else a.data.status for a in answers)
        )
        # The services reconnected: the next request is answered as usual.
        after = await client.ask("VAT rates in Germany", timeout_s=60, timeout_ms=30_000)
        assert after.data.status == "ok", after.data.answer
