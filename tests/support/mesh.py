"""The dev stack as the tests run it: a mesh of a test's own, and the wait until it answers.

The stack is the one developers run (`slmesh dev`): the embedded Tansu broker,
a Redis the suite started itself, and every service as its own OS process.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from slmesh.cli.devstack import DevStack, DevStackConfig, RedisHandle, ServiceLogs, ServiceProcess
from slmesh.runtime.client import MeshClient
from slmesh.runtime.service import READY_MARKER
from slmesh.runtime.settings import MeshSettings

from .kit import ORCHESTRATORS

# The example pipelines the repository ships, and the tests' own (a broken chain).
SHIPPED_PIPELINES = Path(__file__).parents[2] / "pipelines"
TEST_PIPELINES = Path(__file__).parent / "pipelines"


@contextlib.asynccontextmanager
async def logged_mesh(
    tmp_path_factory: pytest.TempPathFactory, name: str, redis: RedisHandle, **config: Any
) -> AsyncIterator[DevStack]:
    """A dev stack of a test module's own on the suite's Redis; service output in files.

    Stopped however it ends, a failed start included: what started before the
    failure (the broker, some services) is not left running.
    """
    workdir = Path(tmp_path_factory.mktemp(name))
    logs = ServiceLogs(workdir)
    stack = DevStack(
        DevStackConfig(broker_port=None, redis_url=redis.url, workdir=workdir, sink=logs, **config)
    )
    try:
        await stack.start()
        yield stack
    finally:
        await stack.stop()
        logs.close()


def pipelines_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pipelines the repository ships, and the tests' own, in one directory."""
    directory = Path(tmp_path_factory.mktemp("pipelines"))
    for source in (SHIPPED_PIPELINES, TEST_PIPELINES):
        for path in sorted(source.glob("*.yaml")):
            shutil.copy(path, directory / path.name)
    return directory


async def until_every_orchestrator_answers(settings: MeshSettings) -> None:
    """Send a few requests until each replica has answered from each consumer group.

    A service is "ready" once it has subscribed, but joining the consumer
    groups takes the broker seconds more; tests start once both replicas hold
    partitions of the requests topic (a request no rule can plan is answered by
    the replica that took it) and of the replies topic (an answered request is
    finished by the replica that took its last reply).
    """
    expected = {f"/slmesh/orchestrator/{name}" for name in ORCHESTRATORS}
    by_requests: set[str] = set()
    by_replies: set[str] = set()
    async with MeshClient(settings, source="/slmesh/integration-tests/warm-up") as client:
        async with asyncio.timeout(120):
            while by_requests != expected or by_replies != expected:
                # Refused by a rule (a VAT question naming no country): no model time.
                unplannable = [
                    await client.submit(client.request("What is VAT?")) for _ in range(8)
                ]
                answerable = [await client.submit(client.request("VAT in DE")) for _ in range(8)]
                by_requests.update(r.source for r in await asyncio.gather(*unplannable))
                by_replies.update(r.source for r in await asyncio.gather(*answerable))


@asynccontextmanager
async def own_micromodel(
    stack: DevStack, script: str, replica: str, **env: str
) -> AsyncIterator[ServiceProcess]:
    """A micromodel of the tests' own (a `tests/support/*_service.py`) as a process beside
    `stack`, ready to serve; stopped however the test ends."""
    service = ServiceProcess(
        replica,
        [sys.executable, script],
        {**stack.env(), "SLMESH_REPLICA": replica, **env},
        ready_pattern=READY_MARKER,
    )
    await service.start()
    try:
        await service.wait_ready(60)
        yield service
    finally:
        await service.stop()
