"""A service whose broker is not up yet waits for it, says so, and starts when it comes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from slmesh.cli.devstack import EmbeddedBroker, RedisHandle, ServiceProcess, free_port
from slmesh.runtime.service import READY_MARKER


async def test_a_micromodel_waits_for_a_broker_that_comes_up_late(
    redis_server: RedisHandle, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "SLMESH_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}",
        "SLMESH_BROKER_PROFILE": "tansu",
        "SLMESH_REDIS_URL": redis_server.url,
        "SLMESH_REPLICA": "vat-rates-late",
    }
    service = ServiceProcess(
        "vat-rates-late",
        [sys.executable, "-m", "slmesh.vat_rates"],
        env,
        ready_pattern=READY_MARKER,
    )
    await service.start()
    try:
        # Nothing listens on the port yet: the service waits, saying for what.
        await service.wait_for_line("waiting for the broker", timeout=60)
        await service.wait_for_line("attempt 2", timeout=60)
        assert service.returncode is None
        async with EmbeddedBroker(port, log_path=tmp_path / "broker.log"):
            await service.wait_ready(90)
            assert service.returncode is None
    finally:
        await service.stop()
