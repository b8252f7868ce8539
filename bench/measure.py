"""What the benchmarks that start the mesh share: its processes, its log, the run around it.

The names and pids of the dev stack's processes (what `bench.cpu` accounts for),
one log file for every service, the stack's table as `slmesh dev` prints it, a
work directory and an interruption that always stop what was started, progress
lines, and the machine's context that every report opens with. Statistics are in
`bench.stats`, CPU accounting in `bench.cpu`.

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
from collections.abc import Callable, Coroutine
from importlib import metadata
from pathlib import Path
from typing import Any

from slmesh.cli.devstack import DevStack

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


def stack_rows(stack: DevStack) -> list[str]:
    """The stack's parts as `slmesh dev` lists them: part, state, pid or address."""
    rows = stack.status()
    width = max((len(r[0]) for r in rows), default=0)
    return [f"{part.ljust(width)}  {state:<10} {detail}" for part, state, detail in rows]


def step(message: str) -> None:
    """A progress line of a benchmark's run, indented under its title."""
    print(f"  {message}", flush=True)


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
        print(f"\nbenchmark failed: {exc!r}\nservice output: {workdir / 'logs'}")
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
