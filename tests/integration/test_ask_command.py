"""`slmesh ask` as a user runs it: when nobody can answer, it says so at once.

Without an orchestrator a request would wait out its whole timeout (60 s)
for nothing. `slmesh ask` checks the orchestrators' consumer groups before
it sends and while it waits, and says what it found instead. Each test has
a broker of its own, with the mesh's topics and no service but the ones it
starts itself.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator

import pytest

from slmesh.cli.commands.ask.liveness import (
    ORCHESTRATOR_REQUESTS_GROUP,
    BrokerUnreachableError,
    ConsumerWatch,
    orchestrator_consumption,
)
from slmesh.cli.devstack import ORCHESTRATOR_MODULE, DevStack, RedisHandle, free_port
from tests.support.kit import WAIT_S, run_ask
from tests.support.mesh import logged_mesh

QUESTION = "VAT rates in Germany?"
# `slmesh ask` waits 60 s for an answer; a prompt "nobody is there" comes well before.
WELL_BEFORE_THE_TIMEOUT_S = 45.0


@pytest.fixture
async def bare_mesh(
    redis_server: RedisHandle, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[DevStack]:
    """The broker with the mesh's topics, and no service running."""
    async with logged_mesh(
        tmp_path_factory, "bare", redis_server, micromodels={}, orchestrator_replicas=0
    ) as mesh:
        yield mesh


async def timed_ask(stack: DevStack) -> tuple[int, str, float]:
    started = time.monotonic()
    code, out = await run_ask(QUESTION, stack.settings().bootstrap_servers)
    return code, out, time.monotonic() - started


async def test_ask_says_at_once_that_no_orchestrator_runs(bare_mesh: DevStack) -> None:
    code, out, took = await timed_ask(bare_mesh)
    assert code == 3, out
    assert "no orchestrator is taking requests" in out
    assert f"consumer group {ORCHESTRATOR_REQUESTS_GROUP} has had no member" in out
    assert "slmesh dev" in out
    assert took < WELL_BEFORE_THE_TIMEOUT_S, out


async def test_ask_sees_an_orchestrator_that_died_although_the_broker_still_lists_it(
    bare_mesh: DevStack,
) -> None:
    # Rules only: no model to load, and no micromodel is needed to be answered.
    orchestrator = bare_mesh.add_service(
        "orchestrator-1", ORCHESTRATOR_MODULE, {"SLMESH_PLANNER": "rules"}
    )
    await bare_mesh.start_services([orchestrator])
    settings = bare_mesh.settings()
    async with ConsumerWatch(settings, orchestrator_consumption(settings)) as watch:
        async with asyncio.timeout(WAIT_S):
            await watch.until_members()
    # While it lives, it answers (a VAT question without a vat-rates micromodel fails).
    code, out, _ = await timed_ask(bare_mesh)
    assert code in (0, 1), out
    assert out.startswith("request req-"), out

    orchestrator.kill()
    await orchestrator.wait(timeout=10)
    code, out, took = await timed_ask(bare_mesh)
    assert code == 3, out
    assert "no orchestrator is taking requests" in out
    # The broker dropped the dead member when asked (liveness.ConsumerWatch.members):
    # its 4 s session ran out, then the group stayed empty for the 5 s of grace.
    assert f"consumer group {ORCHESTRATOR_REQUESTS_GROUP} has had no member" in out
    assert took < WELL_BEFORE_THE_TIMEOUT_S, out


async def test_ask_says_when_the_broker_cannot_be_reached() -> None:
    nobody = f"127.0.0.1:{free_port()}"
    code, out = await run_ask(QUESTION, nobody)
    assert code == 4, out
    assert f"cannot reach the broker at {nobody}" in out
    assert "Traceback" not in out


async def test_a_watch_says_when_the_broker_stops_answering_while_it_waits(
    bare_mesh: DevStack,
) -> None:
    settings = bare_mesh.settings()
    assert bare_mesh.broker is not None
    broker_pid = bare_mesh.broker.pid
    assert broker_pid is not None
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    async with ConsumerWatch(settings, orchestrator_consumption(settings), grace_s=2) as watch:
        # Paused before the watch's first look: silence is all it ever sees.
        os.kill(broker_pid, signal.SIGSTOP)
        try:
            with pytest.raises(BrokerUnreachableError, match="has not answered for"):
                await asyncio.wait_for(watch.guard(never), WAIT_S)
        finally:
            os.kill(broker_pid, signal.SIGCONT)
    assert never.cancelled()
