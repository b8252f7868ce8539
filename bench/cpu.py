"""CPU accounting from /proc: what each process, and the rest of the machine, spent.

A benchmark's CPU figures are seconds (or ms per request, or % of one core) that
named processes used between two instants, beside what everything else on the
machine used meanwhile: other work moves timings, so every benchmark reports the
load it was measured under. Linux only; where /proc is unreadable a process's
figure is missing and the machine's is NaN, never a wrong number.

`CpuMeter` counts processes by pid (the mesh's services, the relays, the benchmark
itself); `ChildrenMeter` counts the rest of the machine beside child processes the
benchmark waits for (each build's run in `inference_build`).
"""

from __future__ import annotations

import contextlib
import math
import os
import resource
import time
from collections.abc import Iterator
from pathlib import Path

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


def children_seconds() -> float:
    """User + system CPU seconds of this process's children that were waited for, so far."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


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

    @property
    def others_pct(self) -> float:
        """Other processes' CPU over the measured wall time, in % of one core."""
        return 100 * self.others / self.wall

    @property
    def steal_pct(self) -> float:
        """CPU time stolen by the hypervisor over the measured wall time, in % of one core."""
        return 100 * self.steal / self.wall

    @contextlib.contextmanager
    def measuring(self) -> Iterator[CpuMeter]:
        self.start()
        try:
            yield self
        finally:
            self.stop()


class ChildrenMeter:
    """CPU seconds the rest of the machine spent while this process's children ran.

    The machine's busy time between start and stop, less what the children waited
    for in between used: for work run in child processes, whose pids come and go.
    """

    def __init__(self) -> None:
        self._machine0: tuple[float, float] | None = None
        self._children0 = 0.0
        self._wall0 = 0.0
        self.wall = 0.0
        self.others = math.nan  # NaN when /proc/stat could not be read

    def start(self) -> None:
        self._machine0 = machine_seconds()
        self._children0 = children_seconds()
        self._wall0 = time.perf_counter()

    def stop(self) -> None:
        self.wall = time.perf_counter() - self._wall0
        machine = machine_seconds()
        children = children_seconds() - self._children0
        if machine is not None and self._machine0 is not None:
            self.others = max(machine[0] - self._machine0[0] - children, 0.0)

    @contextlib.contextmanager
    def measuring(self) -> Iterator[ChildrenMeter]:
        self.start()
        try:
            yield self
        finally:
            self.stop()
