"""Idle cost: what the mesh burns doing nothing, and what the first request after a lull waits.

The mesh runs as `slmesh dev` runs it (DevStackConfig defaults: every default
micromodel, one replica each, one orchestrator, the default environment), with
a Redis of its own so that Redis's CPU is counted too, on a free port.

1. Once every service is ready and a warm-up request ("What are the VAT rates
   in Germany?") was answered, the CPU of every process — broker, Redis,
   orchestrator, each micromodel, and this client process — is measured over
   `--idle-s` seconds (default 30) of idleness, in % of one core.
   Target: the total <= 10% of one core. The rest of the quiet period is
   measured too, in case idling changes as it lasts.
2. `--quiet-s` seconds (default 60) after the last request, one deterministic
   request ("What are the VAT rates in France?") goes out from the client
   started before the lull (its own start-up is not counted). Target: <= 400 ms.
   Then 5 of the same back to back, whose p50 is the warm comparison.

The baseline is the same run: the warm calls against the first call after the
lull, and each process's share of the total.

    uv run python -m bench.idle_cost [--idle-s 30] [--quiet-s 60] [--json PATH] [--fail-on-miss]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.cpu import CpuMeter
from bench.measure import (
    machine_context,
    process_ids,
    run_in_workdir,
    service_kind,
    stack_rows,
    step,
)
from bench.stats import median, ratio, verdict
from slmesh.cli.devstack import DevStack, DevStackConfig, ServiceLogs
from slmesh.runtime.client import MeshClient
from slmesh.schemas import RequestCompleted

WARMUP_TEXT = "What are the VAT rates in Germany?"
QUIET_TEXT = "What are the VAT rates in France?"
WARM_CALLS = 5

TARGET_IDLE_PCT = 10.0  # total CPU of the idle mesh, % of one core
TARGET_QUIET_MS = 400.0  # the first request after the lull

# The first request pays for every model's first inference if the planner needs one;
# later ones are deterministic and should take milliseconds.
WARMUP_TIMEOUT_S = 180.0
REQUEST_TIMEOUT_S = 30.0

CLIENT = "bench client"


@dataclass
class Call:
    """One request's round trip as the client saw it, and what the mesh says it did."""

    round_trip_ms: float
    status: str
    planner: str
    composer: str
    # The orchestrator's own figures: request received to response published, and each
    # call's time in the mesh (published to reply recorded).
    mesh_ms: float | None
    calls_ms: list[float] = field(default_factory=list)
    model_work_ms: float = 0.0


@dataclass
class IdleResults:
    context: dict[str, Any] = field(default_factory=dict)
    services: list[str] = field(default_factory=list)
    startup_s: float = math.nan
    warmup: Call | None = None
    idle_s: float = math.nan
    settle_s: float = math.nan
    settle_total_pct: float = math.nan
    idle_pct: dict[str, float] = field(default_factory=dict)
    # The rest of the quiet period, from the end of the idle window to the quiet call.
    later_s: float = math.nan
    later_pct: dict[str, float] = field(default_factory=dict)
    others_pct: float = math.nan
    steal_pct: float = math.nan
    quiet_after_s: float = math.nan
    quiet: Call | None = None
    warm: list[Call] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def warm_p50_ms(self) -> float:
        return median([c.round_trip_ms for c in self.warm])


async def timed_ask(client: MeshClient, text: str, timeout_s: float) -> Call:
    started = time.perf_counter()
    response = await client.ask(text, timeout_s=timeout_s)
    elapsed = (time.perf_counter() - started) * 1000
    return describe(response, elapsed)


def describe(response: RequestCompleted, round_trip_ms: float) -> Call:
    data = response.data
    if data.status != "ok":
        raise RuntimeError(f"the mesh answered {data.status}: {data.error or data.answer}")
    work = [w.latency_ms for w in (data.planning, data.composing) if w is not None]
    return Call(
        round_trip_ms=round_trip_ms,
        status=data.status,
        planner=data.planner,
        composer=data.composer,
        mesh_ms=data.elapsed_ms,
        calls_ms=[c.elapsed_ms for c in data.calls or [] if c.elapsed_ms is not None],
        model_work_ms=sum(work),
    )


async def run(args: argparse.Namespace, results: IdleResults, workdir: Path) -> None:
    started = time.perf_counter()
    log = ServiceLogs(workdir / "logs")
    # `slmesh dev`'s services, replicas and environment; only where it runs differs: a
    # free port (a developer's own mesh may hold 9092) and a Redis of its own, started
    # here, so its CPU is the mesh's to count.
    stack = DevStack(DevStackConfig(broker_port=None, own_redis=True, workdir=workdir, sink=log))
    services = ", ".join(stack.config.micromodels)
    try:
        step(f"starting the mesh as `slmesh dev` does (orchestrator, {services}) ...")
        t0 = time.perf_counter()
        await stack.start()
        results.startup_s = time.perf_counter() - t0
        results.services = stack_rows(stack)
        step(f"every service ready in {results.startup_s:.1f} s:")
        for row in results.services:
            step(f"  {row}")
        # Started before the lull: its connections and consumer are up, as an
        # enterprise system's client would be.
        async with MeshClient(stack.settings(), source="/slmesh/bench") as client:
            step(f"warm-up request: {WARMUP_TEXT!r} ...")
            results.warmup = await timed_ask(client, WARMUP_TEXT, WARMUP_TIMEOUT_S)
            last_request = time.monotonic()
            step(
                f"answered in {results.warmup.round_trip_ms:.1f} ms "
                f"(planner {results.warmup.planner!r}, composer {results.warmup.composer!r})"
            )
            pids = process_ids(stack, client=CLIENT)

            # Idle is what the mesh settles into once nothing is in flight: its
            # consumers fetch fast for a moment after the last record (the
            # profile's idle_after_s), then slowly. That moment is shown apart.
            step(f"settling for {args.settle_s:g} s after the last answer ...")
            settling = CpuMeter(pids)
            with settling.measuring():
                await asyncio.sleep(args.settle_s)
            results.settle_s = settling.wall
            results.settle_total_pct = sum(settling.percent().values())

            step(f"measuring CPU of {len(pids)} processes over {args.idle_s:g} s of idleness ...")
            idle = CpuMeter(pids)
            with idle.measuring():
                await asyncio.sleep(args.idle_s)
            results.idle_s = idle.wall
            results.idle_pct = idle.percent()
            results.others_pct = idle.others_pct
            results.steal_pct = idle.steal_pct

            wait = last_request + args.quiet_s - time.monotonic()
            later = CpuMeter(pids)
            if wait > 0:
                step(f"quiet for {wait:.0f} s more ({args.quiet_s:g} s after the last request)")
                with later.measuring():
                    await asyncio.sleep(wait)
                results.later_s = later.wall
                results.later_pct = later.percent()

            results.quiet_after_s = time.monotonic() - last_request
            step(f"after {results.quiet_after_s:.1f} s of quiet: {QUIET_TEXT!r} ...")
            results.quiet = await timed_ask(client, QUIET_TEXT, REQUEST_TIMEOUT_S)
            step(f"{WARM_CALLS} more, back to back ...")
            for _ in range(WARM_CALLS):
                results.warm.append(await timed_ask(client, QUIET_TEXT, REQUEST_TIMEOUT_S))
    finally:
        step("stopping everything ...")
        await stack.stop()
        log.close()
        results.seconds = time.perf_counter() - started


def report(args: argparse.Namespace, results: IdleResults) -> list[str]:
    """Print the figures; returns the targets missed."""
    ctx = results.context
    missed: list[str] = []
    out: list[str] = []
    w = out.append

    w("")
    w("slmesh idle cost: the mesh as `slmesh dev` runs it, doing nothing, then one request")
    w(
        f"machine: {ctx['cores']} cores ({ctx['usable_cores']} usable), {ctx['cpu']}; "
        f"load avg before {ctx['load_before']:.2f}; Python {ctx['python']}"
    )
    w(f"mesh:    DevStackConfig defaults (own Redis, free port); up in {results.startup_s:.1f} s:")
    for row in results.services:
        w(f"           {row}")

    order = ["tansu", "redis", "orchestrator"]
    names = sorted(
        results.idle_pct,
        key=lambda n: (
            order.index(service_kind(n)) if service_kind(n) in order else 50,
            n == CLIENT,
            n,
        ),
    )
    w("")
    later = bool(results.later_pct)
    w(
        f"CPU while idle, % of one core ({results.settle_s:.0f} s after the warm-up answer; "
        "the client is up; it fetches nothing while it awaits nothing)"
        f"{'; then the rest of the quiet period' if later else ''}"
    )
    nw = max(len(n) for n in [*names, "total"]) + 2
    heads = f"{f'first {results.idle_s:.0f} s':>12}"
    if later:
        heads += f"{f'next {results.later_s:.0f} s':>12}"
    w(f"  {'':<{nw}}{heads}")
    for n in names:
        cells = f"{results.idle_pct[n]:>12.1f}"
        if later:
            cells += f"{results.later_pct.get(n, math.nan):>12.1f}"
        w(f"  {n:<{nw}}{cells}")
    total = sum(results.idle_pct.values())
    ok = total <= TARGET_IDLE_PCT
    if not ok:
        missed.append(f"idle CPU {total:.1f}% > {TARGET_IDLE_PCT:g}% of one core")
    cells = f"{total:>12.1f}"
    if later:
        cells += f"{sum(results.later_pct.values()):>12.1f}"
    w(f"  {'total':<{nw}}{cells}   target <= {TARGET_IDLE_PCT:g}%  {verdict(ok)}")
    w(
        f"  (the {results.settle_s:.0f} s before the window, settling after the last answer: "
        f"{results.settle_total_pct:.1f}% in all)"
    )
    w(
        f"  (other processes on the machine {results.others_pct:.0f}% of one core, "
        f"steal {results.steal_pct:.0f}%, over the first window)"
    )

    w("")
    w(
        f"Latency after {results.quiet_after_s:.1f} s without a request "
        "(ms, round trip at the client)"
    )
    quiet = results.quiet
    if quiet is not None:
        ok = quiet.round_trip_ms <= TARGET_QUIET_MS
        if not ok:
            missed.append(f"first call after the lull {quiet.round_trip_ms:.0f} ms > 400 ms")
        w(
            f"  first call              {quiet.round_trip_ms:8.1f}   "
            f"target <= {TARGET_QUIET_MS:g} ms  {verdict(ok)}   {where(quiet)}"
        )
    if results.warm:
        first = ratio(quiet.round_trip_ms, results.warm_p50_ms) if quiet is not None else math.nan
        w(
            f"  next {len(results.warm)}, p50            {results.warm_p50_ms:8.1f}   "
            f"(first call / warm p50 = {first:.1f}x)   "
            + ", ".join(f"{c.round_trip_ms:.1f}" for c in results.warm)
        )
    if results.warmup is not None:
        w(
            f"  (warm-up, the first request after start-up: {results.warmup.round_trip_ms:.1f} ms; "
            f"{where(results.warmup)})"
        )
    w("")
    w("MISSED: " + "; ".join(missed) if missed else "All targets met.")
    w(f"(benchmark took {results.seconds:.0f} s)")
    print("\n".join(out), flush=True)
    return missed


def where(call: Call) -> str:
    """Where a call's time went, as the orchestrator reports it."""
    mesh = f"{call.mesh_ms:.1f} ms in the orchestrator" if call.mesh_ms is not None else ""
    calls = f", calls {', '.join(f'{ms:.1f}' for ms in call.calls_ms)} ms" if call.calls_ms else ""
    model = f", model work {call.model_work_ms:.0f} ms" if call.model_work_ms else ""
    return f"{mesh}{calls}{model}; planner {call.planner!r}, composer {call.composer!r}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--idle-s", type=float, default=30.0, help="idle window measured")
    parser.add_argument(
        "--settle-s",
        type=float,
        default=5.0,
        help="seconds after the warm-up answer before the window (consumers go idle)",
    )
    parser.add_argument(
        "--quiet-s",
        type=float,
        default=60.0,
        help="seconds after the last request at which the next one goes out",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument(
        "--fail-on-miss", action="store_true", help="exit 1 when a target is missed"
    )
    parser.add_argument("--keep-workdir", action="store_true", help="keep logs after success")
    args = parser.parse_args(argv)
    results = IdleResults(context=machine_context())
    code = run_in_workdir(
        "slmesh idle cost benchmark",
        "slmesh-idle-",
        lambda workdir: run(args, results, workdir),
        keep=args.keep_workdir,
    )
    if code is not None:
        return code
    missed = report(args, results)
    if args.json is not None:
        figures = {**asdict(results), "warm_p50_ms": results.warm_p50_ms, "missed": missed}
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 1 if missed and args.fail_on_miss else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
