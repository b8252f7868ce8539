"""`slmesh dev` as a user runs it: the whole mesh answers, then stops with nothing left behind.

A service that dies while it runs is reported (how it ended, its last
lines) and restarted, and the mesh answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import resource
import signal
import sys
from pathlib import Path

import pytest

from slmesh.cli.devstack import DEFAULT_MICROMODELS, free_port
from tests.support.kit import run_ask

# The whole mesh starting on a busy machine: it only bounds how long a broken start takes to fail.
START_S = 180.0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def no_core_files() -> None:
    # A service killed by SIGILL would otherwise dump core into the working tree.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


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
        preexec_fn=no_core_files,
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
    # Stopping when --once is done is not dying.
    assert " died: " not in text
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
    # The services it stopped are not reported dead, nor restarted.
    assert " died: " not in rest.decode()
    assert "restarting" not in rest.decode()
    assert not any(alive(pid) for pid in pids)


class DevOutput:
    """Everything `slmesh dev` prints, read as it comes, for a test to wait on."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.text = ""
        self._more = asyncio.Condition()
        self._ended = False
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            async with self._more:
                self.text += line.decode()
                self._more.notify_all()
        async with self._more:
            self._ended = True
            self._more.notify_all()

    async def wait_for(self, pattern: str, timeout: float, *, after: int = 0) -> re.Match[str]:  # noqa: ASYNC109
        """The first match of `pattern` in the output from character `after` on."""
        regex = re.compile(pattern)

        async def found() -> re.Match[str]:
            async with self._more:
                while (match := regex.search(self.text, after)) is None:
                    if self._ended:
                        raise AssertionError(f"slmesh dev ended without {pattern!r}:\n{self.text}")
                    await self._more.wait()
                return match

        try:
            return await asyncio.wait_for(found(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"slmesh dev printed no {pattern!r} within {timeout:g} s:\n{self.text}"
            ) from None

    async def stop(self) -> int:
        """SIGTERM `slmesh dev` and wait for it to end; its exit code."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(self.proc.wait(), 60)
        except TimeoutError:
            self.proc.kill()
            raise
        await self._reader
        return code


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGILL], ids=lambda sig: sig.name)
async def test_dev_reports_a_dead_orchestrator_restarts_it_and_answers_again(
    tmp_path: Path, sig: signal.Signals
) -> None:
    output = DevOutput(await run_dev(workdir=tmp_path))
    during_restart: asyncio.Task[tuple[int, str]] | None = None
    try:
        up = await output.wait_for("Ctrl-C stops everything", START_S)
        first = await output.wait_for(r"orchestrator-1\s+running\s+pid (\d+)", 1)
        bootstrap = await output.wait_for(r"SLMESH_BOOTSTRAP_SERVERS=(\S+)", 1)
        pid = int(first.group(1))
        os.kill(pid, sig)
        # Asked while the orchestrator is down: answered once it is back, not refused.
        during_restart = asyncio.create_task(run_ask("VAT rates in Germany?", bootstrap.group(1)))

        died = await output.wait_for(
            rf"orchestrator-1 died: killed by {sig.name} \(pid {pid}\); "
            # Up to the line after the tail, so the whole tail has been read.
            r"its last (\d+) line\(s\):\n((?:  orchestrator-1\| .*\n)+)\(full log: ",
            30,
            after=up.end(),
        )
        tail = [line.removeprefix("  orchestrator-1| ") for line in died.group(2).splitlines()]
        assert 0 < len(tail) == int(died.group(1)) <= 20
        # The tail is the end of the dead run's log, where `slmesh dev` then noted the death.
        log = (tmp_path / "logs" / "orchestrator-1.log").read_text().splitlines()
        noted = log.index(f"[slmesh dev] orchestrator-1 died: killed by {sig.name} (pid {pid})")
        assert tail == log[noted - len(tail) : noted]
        await output.wait_for(r"restarting orchestrator-1 in 1 s \(restart 1\)", 5, after=up.end())
        back = await output.wait_for(
            r"orchestrator-1 is running again \(pid (\d+), restart 1\)", START_S, after=up.end()
        )
        new_pid = int(back.group(1))
        assert new_pid != pid
        assert alive(new_pid)
        # The table printed then shows the new process, and that it is a restart.
        await output.wait_for(
            rf"orchestrator-1\s+running\s+pid {new_pid}, restarted 1x", 5, after=back.end()
        )

        code, answer = await during_restart
        assert code == 0, answer
        assert "Germany (DE)" in answer
        code, answer = await run_ask("VAT rates in Germany?", bootstrap.group(1))
        assert code == 0, answer
        assert "Germany (DE)" in answer
    finally:
        if during_restart is not None and not during_restart.done():
            during_restart.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await during_restart
        exit_code = await output.stop()
    assert exit_code == 0, output.text
    assert "no process left behind" in output.text
    assert not alive(new_pid)
