"""`slmesh dev` as a user runs it: the whole mesh answers, then stops with nothing left behind."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import pytest

from slmesh.runtime.devstack import DEFAULT_MICROMODELS
from slmesh.runtime.embedded_broker import free_port

pytestmark = pytest.mark.integration


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def run_dev(*args: str, workdir: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "slmesh"),
        "dev",
        "--own-redis",
        "--port",
        str(free_port()),
        "--workdir",
        str(workdir),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )


async def read_until(proc: asyncio.subprocess.Process, marker: str, timeout: float) -> str:  # noqa: ASYNC109
    assert proc.stdout is not None
    seen: list[str] = []

    async def read() -> str:
        assert proc.stdout is not None
        while True:
            line = await proc.stdout.readline()
            if not line:
                raise AssertionError("slmesh dev ended early:\n" + "".join(seen))
            seen.append(line.decode())
            if marker in seen[-1]:
                return "".join(seen)

    return await asyncio.wait_for(read(), timeout)


def service_pids(output: str) -> list[int]:
    return [int(p) for p in re.findall(r"pid (\d+)", output)]


async def test_dev_answers_the_sample_request_and_exits_with_once(tmp_path: Path) -> None:
    proc = await run_dev("--once", "--ask", "VAT rates in Germany and France?", workdir=tmp_path)
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    text = out.decode()
    assert proc.returncode == 0, text
    assert "Germany (DE): standard 19%" in text
    assert "France (FR): standard 20%" in text
    assert re.search(r"orchestrator-1\s+running", text)
    assert "stopped; no process left behind" in text
    pids = service_pids(text)
    # broker, Redis, each micromodel, orchestrator
    assert len(pids) == 3 + len(DEFAULT_MICROMODELS)
    assert not any(alive(pid) for pid in pids)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_dev_stops_everything_on_a_signal(tmp_path: Path, sig: signal.Signals) -> None:
    proc = await run_dev(workdir=tmp_path)
    try:
        text = await read_until(proc, "Ctrl-C stops everything", 120)
    except BaseException:
        proc.kill()
        raise
    pids = service_pids(text)
    assert len(pids) == 3 + len(DEFAULT_MICROMODELS)
    assert all(alive(pid) for pid in pids)
    proc.send_signal(sig)
    rest, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0
    assert "no process left behind" in rest.decode()
    assert not any(alive(pid) for pid in pids)
