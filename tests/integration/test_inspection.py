"""`slmesh topics` as a user runs it, against the suite's running mesh."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from slmesh.cli.embedded_broker import free_port
from slmesh.runtime.client import MeshClient
from slmesh.runtime.settings import MeshSettings

pytestmark = pytest.mark.integration


async def run_slmesh(bootstrap_servers: str, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "slmesh"),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "SLMESH_BOOTSTRAP_SERVERS": bootstrap_servers},
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


def row_of(out: str, topic: str) -> list[str]:
    for line in out.splitlines():
        fields = line.split()
        if fields and fields[0] == topic:
            return fields
    raise AssertionError(f"{topic} not listed:\n{out}")


async def test_topics_lists_the_mesh_topics_with_partitions_and_records(
    settings: MeshSettings, mesh: MeshClient
) -> None:
    response = await mesh.ask("VAT rates in Germany?", timeout_s=60)
    assert response.data.status == "ok"
    code, out = await run_slmesh(settings.bootstrap_servers, "topics")
    assert code == 0, out
    requests = row_of(out, settings.requests_topic)
    partitions, records, ends = int(requests[1]), int(requests[2]), requests[3:]
    assert partitions == settings.partitions == len(ends)
    # At least the request just answered; the end offsets sum to what is held.
    assert records >= 1
    assert sum(int(e) for e in ends) >= records
    assert int(row_of(out, settings.task_topic("vat-rates"))[2]) >= 1
    # Only the mesh's own topics, unless asked for all.
    assert all(line.split()[0].startswith("slmesh.") for line in out.splitlines()[1:])


async def test_topics_without_a_broker_says_so() -> None:
    code, out = await run_slmesh(f"127.0.0.1:{free_port()}", "topics")
    assert code == 4, out
    assert "slmesh dev" in out
    assert "Traceback" not in out
