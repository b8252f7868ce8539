"""A task longer than the consumer session timeout keeps its replica in the group."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from slmesh.runtime.client import MeshClient
from slmesh.runtime.devstack import DevStack
from slmesh.runtime.processes import ServiceProcess
from slmesh.runtime.service import READY_MARKER
from slmesh.schemas import RequestCompleted

from .kit import WAIT_S

pytestmark = pytest.mark.integration

SLOW = str(Path(__file__).with_name("slow_service.py"))
# The tansu profile's session timeout is 4 s: a 9 s task spans two of them.
NAP_S = 9.0


async def ask_slow(mesh: MeshClient, seconds: float, timeout_ms: int) -> RequestCompleted:
    return await mesh.ask(
        "nap",
        timeout_s=WAIT_S + seconds,
        timeout_ms=timeout_ms,
        calls=[{"micromodel": "slow", "arguments": {"seconds": seconds}}],
    )


async def test_a_task_longer_than_the_session_timeout_keeps_group_membership(
    stack: DevStack, mesh: MeshClient
) -> None:
    slow = ServiceProcess(
        "slow-1",
        [sys.executable, SLOW],
        {**stack.env(), "SLMESH_REPLICA": "slow-1", "SLMESH_HEARTBEAT_S": "1"},
        ready_pattern=READY_MARKER,
    )
    await slow.start()
    try:
        await slow.wait_ready(60)
        # The orchestrator learns of it from the registry.
        for _ in range(40):
            ready = await ask_slow(mesh, 0, timeout_ms=2000)
            if ready.data.status == "ok":
                break
            await asyncio.sleep(0.3)
        assert ready.data.status == "ok", ready.data.answer

        answer = await ask_slow(mesh, NAP_S, timeout_ms=30_000)
        assert answer.data.status == "ok", answer.data.answer
        assert answer.data.calls[0].output == {"seconds": NAP_S}
        # Heartbeats went on while the handler blocked its thread: the replica
        # was assigned its partitions once and never lost them.
        log = "\n".join(slow.recent_output())
        assert log.count("assigned to partitions") == 1, log
        assert "rebalanc" not in log.lower(), log
    finally:
        await slow.stop()
