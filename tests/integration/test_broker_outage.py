"""The broker stops answering for a while: the services ride it out and every request ends.

A mesh of its own (one orchestrator, vat-rates), so the outage touches no
other test. The broker process is frozen (SIGSTOP) — connections stay open
and nothing answers, as with a hung broker or a cut network — then resumed.
Each service must say in its log that the broker is not answering, and
later that it answers again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator

import pytest

from slmesh.cli.devstack import DevStack, RedisHandle
from slmesh.runtime.client import MeshClient
from slmesh.schemas import RequestCompleted
from tests.support.mesh import logged_mesh

OUTAGE_S = 12.0
# Rejoining the consumer groups after the outage takes a few session timeouts.
RECOVERY_S = 90.0


@pytest.fixture(scope="module")
async def small_mesh(
    redis_server: RedisHandle, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[DevStack]:
    async with logged_mesh(
        tmp_path_factory,
        "outage",
        redis_server,
        micromodels={"vat-rates": "slmesh.vat_rates"},
        env={"SLMESH_PLANNER": "rules"},
    ) as mesh:
        yield mesh


async def test_requests_sent_during_a_broker_outage_are_answered_after_it(
    small_mesh: DevStack,
) -> None:
    assert small_mesh.broker is not None
    assert small_mesh.broker.pid is not None
    broker_pid = small_mesh.broker.pid
    async with MeshClient(small_mesh.settings(), source="/slmesh/outage-test") as client:
        before = await client.ask("VAT rates in Germany", timeout_s=60)
        assert before.data.status == "ok", before.data.answer

        os.kill(broker_pid, signal.SIGSTOP)
        frozen_at = time.monotonic()
        try:
            # Sent while nothing answers: the producer holds them until the broker is back.
            requests = [
                client.request(f"VAT rates in {c}", timeout_ms=120_000)
                for c in ("France", "Italy", "Spain")
            ]

            async def send_all() -> list[asyncio.Future[RequestCompleted]]:
                return [await client.submit(r) for r in requests]

            sending = asyncio.create_task(send_all())
            # Each service says it is waiting for the broker.
            await asyncio.gather(
                *(
                    s.wait_for_line("the broker at .* is not answering", timeout=OUTAGE_S)
                    for s in small_mesh.services
                )
            )
            await asyncio.sleep(OUTAGE_S - (time.monotonic() - frozen_at))
        finally:
            os.kill(broker_pid, signal.SIGCONT)

        futures = await asyncio.wait_for(sending, RECOVERY_S)
        answers: list[RequestCompleted] = await asyncio.wait_for(
            asyncio.gather(*futures), RECOVERY_S
        )
        assert [a.data.status for a in answers] == ["ok", "ok", "ok"], [
            a.data.answer for a in answers
        ]
        # ...and says when it is back.
        for service in small_mesh.services:
            await service.wait_for_line("the broker at .* answers again", timeout=RECOVERY_S)
        # The services never exited, and the mesh goes on answering.
        assert all(s.state == "running" for s in small_mesh.services)
        after = await client.ask("VAT rates in Poland", timeout_s=RECOVERY_S)
        assert after.data.status == "ok", after.data.answer
