"""What the benchmarks share: CPU accounting from /proc, the dev stack's processes, percentiles.

Imported as `bench.measure` by the benchmarks beside it, which run as modules
from the repository's root (`uv run python -m bench.<name>`); never run on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from importlib import metadata
from pathlib import Path
from typing import IO, Any

from slmesh.cli.devstack import DevStack

# --- statistics ------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100), as numpy's default."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


# --- CPU accounting from /proc -----------------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process (all its threads), or None if unreadable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def machine_seconds() -> tuple[float, float] | None:
    """(busy, steal) CPU seconds of the whole machine since boot, from /proc/stat."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in first[1:9])
    return (user + nice + system + irq + softirq) / _TICKS, steal / _TICKS


class CpuMeter:
    """CPU seconds each named process, and the whole machine, spent between start and stop."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self._t0: dict[str, float] = {}
        self._machine0: tuple[float, float] | None = None
        self._wall0 = 0.0
        self.used: dict[str, float] = {}
        self.wall = 0.0
        # CPU seconds of processes not in `pids` (other work on the machine), and steal.
        self.others = math.nan
        self.steal = math.nan

    def start(self) -> None:
        self._wall0 = time.perf_counter()
        self._t0 = {n: c for n, p in self.pids.items() if (c := cpu_seconds(p)) is not None}
        self._machine0 = machine_seconds()

    def stop(self) -> None:
        self.wall = time.perf_counter() - self._wall0
        self.used = {}
        for name, pid in self.pids.items():
            now = cpu_seconds(pid)
            if now is not None and name in self._t0:
                self.used[name] = now - self._t0[name]
        machine = machine_seconds()
        if machine is not None and self._machine0 is not None:
            busy = machine[0] - self._machine0[0]
            self.others = max(busy - sum(self.used.values()), 0.0)
            self.steal = machine[1] - self._machine0[1]

    def percent(self) -> dict[str, float]:
        """Each process's CPU over the measured wall time, in % of one core."""
        return {n: 100 * s / self.wall for n, s in self.used.items()} if self.wall > 0 else {}

    @contextlib.contextmanager
    def measuring(self) -> Iterator[CpuMeter]:
        self.start()
        try:
            yield self
        finally:
            self.stop()


# --- the dev stack's processes -----------------------------------------------------------


def service_kind(process: str) -> str:
    """A service's name without its replica number: "vat-rates-2" -> "vat-rates"."""
    base, _, number = process.rpartition("-")
    return base if base and number.isdigit() else process


def process_ids(stack: DevStack, client: str = "bench client") -> dict[str, int]:
    """Name -> pid of every process a running stack started, and of this process (`client`).

    Services are named by kind ("orchestrator", "vat-rates") when the stack runs one
    replica of each, else by replica ("vat-rates-2"). Redis is only included when the
    stack started it (a Redis it merely found is not the stack's to account for).
    """
    pids: dict[str, int] = {}
    if stack.broker is not None and stack.broker.pid is not None:
        pids["tansu"] = stack.broker.pid
    if stack.redis is not None and stack.redis.owned and stack.redis.pid is not None:
        pids["redis"] = stack.redis.pid
    services = [s for s in stack.services if s.pid is not None]
    kinds = [service_kind(s.name) for s in services]
    for service, kind in zip(services, kinds, strict=True):
        assert service.pid is not None
        pids[kind if kinds.count(kind) == 1 else service.name] = service.pid
    pids[client] = os.getpid()
    return pids


class ServiceLog:
    """Every line the services write goes to one file in the work directory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] = path.open("a", encoding="utf-8")

    def __call__(self, name: str, line: str) -> None:
        self._file.write(f"{name}| {line}\n")

    def close(self) -> None:
        self._file.close()


def stack_rows(stack: DevStack) -> list[str]:
    """The stack's parts as `slmesh dev` lists them: part, state, pid or address."""
    rows = stack.status()
    width = max((len(r[0]) for r in rows), default=0)
    return [f"{part.ljust(width)}  {state:<10} {detail}" for part, state, detail in rows]


async def until_signal(run: Coroutine[Any, Any, None]) -> None:
    """Await `run`; SIGTERM cancels it as Ctrl-C does, so the stack's cleanup always runs.

    (Killed by the default SIGTERM action, the process would leave its services behind.)
    """
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    assert task is not None
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        await run
    except asyncio.CancelledError:
        if task.cancelling():
            raise KeyboardInterrupt from None
        raise


def run_in_workdir(
    title: str, prefix: str, body: Callable[[Path], Coroutine[Any, Any, None]], *, keep: bool
) -> int | None:
    """Run a benchmark's `body` in a fresh work directory, removed afterwards unless `keep`
    (or the run failed). 130 when interrupted, else None: the caller reports."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    print(f"{title}; logs in {workdir}", flush=True)
    try:
        asyncio.run(until_signal(body(workdir)))
    except KeyboardInterrupt:
        print("\ninterrupted; everything started has been stopped", file=sys.stderr)
        return 130
    except Exception as exc:
        keep = True
        print(f"\nbenchmark failed: {exc!r}\nservice output: {workdir / 'services.log'}")
        raise
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return None


# --- context ------------------------------------------------------------------------------


def machine_context() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "?"

    return {
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "cpu": cpu,
        "load_before": os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan,
        "python": platform.python_version(),
        "aiokafka": version("aiokafka"),
        "faststream": version("faststream"),
        "redis-py": version("redis"),
        "llama-cpp-python": version("llama-cpp-python"),
    }
