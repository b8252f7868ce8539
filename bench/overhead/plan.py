"""What the overhead benchmark measures, and how much: requests, targets, plan, results.

The plan comes from the command line (`parse_plan`); every step of the run fills
in the one `Results`, which the report and the JSON read once the stack is down.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.overhead.guard import GUARD_EXIT
from bench.stats import Latencies, ratio

SINGLE_TEXT = "What are the VAT rates in Germany?"
FANOUT_TEXT = "What are the VAT rates in all EU countries?"
FANOUT_CALLS = 27

TARGET_RATIO = 1.5  # mesh p50 / raw p50
TARGET_FANOUT_ADDED_MS = 30.0  # mesh fan-out p50 - mesh single p50

KINDS = ("single", "fanout")
SIDES = ("mesh", "raw")


@dataclass
class RunPlan:
    """How much the benchmark runs: requests per step, throughput runs, idle time, options."""

    single: int
    fanout: int
    warmup: int
    in_flight: int
    tp_single: int
    tp_fanout: int
    idle_s: float
    raw_commit: bool
    # `--max-ratio`: a single-call ratio above it is measured a second time.
    confirm_above: float | None = None
    # `--trace`: the services export their spans over OTLP (to a sink that counts them).
    trace: bool = False


@dataclass
class Sizes:
    """Byte sizes of the four events of one request kind, matched to the mesh's own."""

    request: int
    task: int
    reply: int
    response: int


@dataclass
class Throughput:
    requests: int = 0
    concurrency: int = 0
    seconds: float = 0.0
    errors: int = 0
    latency: Latencies = field(default_factory=Latencies)

    @property
    def per_s(self) -> float:
        return ratio(self.requests, self.seconds)


@dataclass
class Results:
    context: dict[str, Any] = field(default_factory=dict)
    sizes: dict[str, Sizes] = field(default_factory=dict)
    latency: dict[tuple[str, str], Latencies] = field(default_factory=dict)
    # The single call measured again, when the first ratio crossed `--max-ratio`.
    confirm: dict[tuple[str, str], Latencies] = field(default_factory=dict)
    throughput: dict[tuple[str, str], Throughput] = field(default_factory=dict)
    # (side, kind) -> process -> CPU ms per request, measured during that side's throughput
    # runs, for every process; `on_path` (report) says which of them carried the requests.
    cpu_per_request: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)
    idle_cpu_pct: dict[str, float] = field(default_factory=dict)
    # The stack as `slmesh dev` lists it, the orchestrator's configuration, and how the
    # mesh answered each kind (planner, composer, model work), from a warm-up response.
    services: list[str] = field(default_factory=list)
    orchestrator: str = ""
    answered: dict[str, str] = field(default_factory=dict)
    # Average CPU (% of one core) of everything else on the machine while measuring.
    others_cpu_pct: float = math.nan
    steal_pct: float = math.nan
    seconds: float = 0.0


def parse_plan(argv: list[str]) -> tuple[RunPlan, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        description="Mesh overhead: orchestrator -> vat-rates -> response vs raw aiokafka "
        "ping-pong with the same hops, same broker, same run.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer requests (about a minute after start-up)"
    )
    parser.add_argument(
        "--requests", type=int, help="sequential single-call requests per side (default 200)"
    )
    parser.add_argument(
        "--fanout-requests", type=int, help="sequential fan-out requests (default requests/2)"
    )
    parser.add_argument("--warmup", type=int, help="warm-up requests per kind and side")
    parser.add_argument("--in-flight", type=int, default=16, help="throughput concurrency")
    parser.add_argument("--throughput-requests", type=int, help="single-call throughput count")
    parser.add_argument("--throughput-fanout", type=int, help="fan-out throughput count")
    parser.add_argument(
        "--raw-commit",
        action="store_true",
        help="relays commit after every record as the mesh does (isolates the commit cost)",
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="tracing on: every service exports its spans over OTLP/HTTP (to a local sink)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--keep-workdir", action="store_true", help="keep logs after success")
    parser.add_argument(
        "--fail-on-miss", action="store_true", help="exit 1 when a target is missed"
    )
    parser.add_argument(
        "--max-ratio",
        type=float,
        metavar="X",
        help=f"guard: exit {GUARD_EXIT} when the single call's mesh/raw p50 exceeds X "
        "(CI uses 3: a gross regression, not the target)",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    # Quick mode keeps more single calls than fan-outs: the guard's ratio is the single's.
    single = args.requests or (100 if quick else 200)
    plan = RunPlan(
        single=single,
        fanout=args.fanout_requests or (30 if quick else max(single // 2, 1)),
        warmup=args.warmup if args.warmup is not None else (10 if quick else 20),
        in_flight=args.in_flight,
        tp_single=args.throughput_requests or (96 if quick else 320),
        tp_fanout=args.throughput_fanout or (32 if quick else 64),
        idle_s=1.5 if quick else 3.0,
        raw_commit=args.raw_commit,
        confirm_above=args.max_ratio,
        trace=args.trace,
    )
    return plan, args
