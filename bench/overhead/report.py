"""The overhead benchmark's report: the printed tables, the targets missed, and the JSON.

Every figure is printed against its baseline from the same run, as a ratio; the
CPU table marks in brackets each process that is not on that side's path, and
"total on path" counts only the others.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from bench.measure import service_kind
from bench.overhead.guard import single_ratio
from bench.overhead.plan import (
    FANOUT_CALLS,
    KINDS,
    SIDES,
    TARGET_FANOUT_ADDED_MS,
    TARGET_RATIO,
    Results,
    RunPlan,
)
from bench.stats import Latencies, ratio, verdict

# Services that carry the mesh side's requests; the other micromodels idle beside them.
MESH_PATH = ("orchestrator", "vat-rates", "redis")


def on_path(side: str, process: str) -> bool:
    """Whether a process of `process_ids` carries this side's requests."""
    kind = service_kind(process)
    if kind.startswith("raw-relay"):
        return side == "raw"
    if kind in MESH_PATH:
        return side == "mesh"
    # The broker and the benchmark's clients serve both sides; an idle micromodel is on
    # neither path, though its polling loads both.
    return kind in ("tansu", "bench clients")


def report(plan: RunPlan, results: Results) -> list[str]:
    """Print the tables; returns the targets missed."""
    ctx = results.context
    lat = results.latency
    missed: list[str] = []
    label = {"single": "single call", "fanout": f"{FANOUT_CALLS}-way fan-out"}
    out: list[str] = []
    w = out.append

    w("")
    w("slmesh mesh overhead: mesh vs raw aiokafka ping-pong, same broker, same run")
    w(
        f"machine: {ctx['cores']} cores ({ctx['usable_cores']} usable), {ctx['cpu']}; "
        f"load avg before {ctx['load_before']:.2f}; Python {ctx['python']}"
    )
    w(
        f"broker:  Tansu {ctx['tansu']} (embedded, in-memory, loopback); "
        f"Redis {ctx['redis']}; aiokafka {ctx['aiokafka']}; faststream {ctx['faststream']}"
    )
    w(
        f"clients: profile {ctx['profile']!r} for mesh and raw alike: "
        f"producer {ctx['producer']}, consumer {ctx['consumer']}"
    )
    w(
        "mesh:    as `slmesh dev` runs it (DevStackConfig defaults; own Redis, free port): "
        + ", ".join(r.split()[0] for r in results.services if not r.startswith("raw-relay"))
    )
    w(f"         orchestrator: {results.orchestrator}")
    w(f"         tracing: {ctx.get('tracing', 'off (no OTEL_EXPORTER_OTLP_ENDPOINT)')}")
    for kind in KINDS:
        if kind in results.answered:
            w(f"         {label[kind]} answered with {results.answered[kind]}")
    w(
        "hops:    4 produce/consume hops each; mesh = orchestrator + vat-rates processes "
        "(the other micromodels idle beside them), "
        f"raw = front + echo relay processes; {ctx['partitions']} partitions per topic"
    )
    raw_commit = (
        "offsets committed after every record, as the mesh does"
        if plan.raw_commit
        else "no offset commits (the mesh commits after every record; --raw-commit adds them)"
    )
    w(f"raw:     gather count in relay memory (the mesh keeps it in Redis); {raw_commit}")
    for kind in KINDS:
        s = results.sizes[kind]
        w(
            f"bytes:   {label[kind]:<15} request {s.request}, task {s.task}, reply {s.reply}, "
            f"response {s.response} (mesh's own sizes; raw padded to match)"
        )

    w("")
    w(
        f"Latency (ms), sequential requests after {plan.warmup} warm-up per kind, "
        "mesh and raw alternating request by request"
    )
    head = (
        f"  {'':<16}{'n':>5}{'mesh p50':>10}{'p99':>8}{'raw p50':>10}{'p99':>8}"
        f"{'mesh/raw p50':>14}   target"
    )
    w(head)
    for kind in KINDS:
        m, r = lat["mesh", kind], lat["raw", kind]
        p50_ratio = ratio(m.p50, r.p50)
        ok = p50_ratio <= TARGET_RATIO
        if not ok:
            missed.append(f"{label[kind]} mesh/raw p50 {p50_ratio:.2f}x > {TARGET_RATIO}x")
        errs = f"  ({m.errors} mesh / {r.errors} raw errors)" if m.errors or r.errors else ""
        w(
            f"  {label[kind]:<16}{len(m.ms):>5}{m.p50:>10.1f}{m.p99:>8.1f}{r.p50:>10.1f}"
            f"{r.p99:>8.1f}{p50_ratio:>13.2f}x   <= {TARGET_RATIO}x  {verdict(ok)}{errs}"
        )
    m_added = lat["mesh", "fanout"].p50 - lat["mesh", "single"].p50
    r_added = lat["raw", "fanout"].p50 - lat["raw", "single"].p50
    ok = m_added <= TARGET_FANOUT_ADDED_MS
    if not ok:
        missed.append(f"fan-out adds {m_added:.1f} ms p50 > {TARGET_FANOUT_ADDED_MS:g} ms")
    w(
        f"  fan-out adds (p50, fan-out - single): mesh {m_added:+.1f} ms, raw {r_added:+.1f} ms"
        f"   target mesh <= {TARGET_FANOUT_ADDED_MS:g} ms  {verdict(ok)}"
    )
    w(
        f"  fan-out per extra call (p50): mesh {m_added / (FANOUT_CALLS - 1):.2f} ms, "
        f"raw {r_added / (FANOUT_CALLS - 1):.2f} ms"
    )
    if results.confirm:
        m, r = results.confirm["mesh", "single"], results.confirm["raw", "single"]
        w(
            f"  single call, measured again (the first crossed --max-ratio): n {len(m.ms)}, "
            f"mesh p50 {m.p50:.1f}, raw p50 {r.p50:.1f}, ratio {single_ratio(results.confirm):.2f}x"
        )

    w("")
    w(f"Throughput, {plan.in_flight} requests in flight (no target; for scale)")
    w(
        f"  {'':<16}{'n':>5}{'mesh req/s':>12}{'raw req/s':>11}{'mesh/raw':>10}"
        f"{'mesh p50':>10}{'raw p50':>9}{'calls/s mesh':>14}"
    )
    for kind in KINDS:
        m_tp, r_tp = results.throughput["mesh", kind], results.throughput["raw", kind]
        tp_ratio = ratio(m_tp.per_s, r_tp.per_s)
        errs = f"  ({m_tp.errors}/{r_tp.errors} errors)" if m_tp.errors or r_tp.errors else ""
        w(
            f"  {label[kind]:<16}{m_tp.requests:>5}{m_tp.per_s:>12.1f}{r_tp.per_s:>11.1f}"
            f"{tp_ratio:>9.2f}x{m_tp.latency.p50:>10.1f}{r_tp.latency.p50:>9.1f}"
            f"{m_tp.per_s * (1 if kind == 'single' else FANOUT_CALLS):>14.0f}{errs}"
        )

    order = ["tansu", "redis", "orchestrator", "vat-rates", "raw-relay-front", "raw-relay-echo"]
    names = sorted(
        results.idle_cpu_pct,
        key=lambda n: (order.index(service_kind(n)) if service_kind(n) in order else 99, n),
    )
    if names:
        w("")
        w(
            "CPU ms per request during the throughput runs, every process (idle polling "
            "included); (in brackets) = not on that side's path"
        )
        rows = [(side, kind) for side in SIDES for kind in KINDS]
        heads = [f"{side} {'fan-out' if kind == 'fanout' else kind}" for side, kind in rows]
        nw = max(len(n) for n in [*names, "total on path"]) + 2
        w(f"  {'':<{nw}}" + "".join(f"{h:>14}" for h in heads) + f"{'idle % core':>14}")
        idle = results.idle_cpu_pct
        for n in names:
            cells = []
            for side, kind in rows:
                used = results.cpu_per_request.get((side, kind), {}).get(n)
                cell = "-" if used is None else f"{used:.2f}"
                cells.append(cell if on_path(side, n) or used is None else f"({cell})")
            w(
                f"  {n:<{nw}}"
                + "".join(f"{c:>14}" for c in cells)
                + f"{idle.get(n, math.nan):>14.1f}"
            )
        totals = [
            sum(v for n, v in results.cpu_per_request.get(row, {}).items() if on_path(row[0], n))
            for row in rows
        ]
        w(
            f"  {'total on path':<{nw}}"
            + "".join(f"{t:>14.2f}" for t in totals)
            + f"{sum(idle.values()):>14.1f}"
        )
        w(
            "  (idle = everything up, nothing in flight, for "
            f"{plan.idle_s:g} s: consumers polling with "
            f"fetch_max_wait_ms={ctx['consumer'].get('fetch_max_wait_ms')}; "
            "`make bench-idle` measures idleness longer)"
        )

    w("")
    others, steal = results.others_cpu_pct, results.steal_pct
    w(
        f"Other load while measuring: other processes {others:.0f}% of one core on average, "
        f"steal {steal:.0f}%"
    )
    if others > 25 or steal > 10:
        w(
            "WARNING: the machine was busy with other work; latencies are noisier than usual "
            "(the alternation keeps the mesh/raw ratios comparable). Re-run on a quiet machine."
        )
    if missed:
        w("MISSED: " + "; ".join(missed))
    else:
        w("All targets met.")
    w(f"(benchmark took {results.seconds:.0f} s)")
    print("\n".join(out), flush=True)
    return missed


def to_json(plan: RunPlan, results: Results, missed: list[str]) -> dict[str, Any]:
    def lat(x: Latencies) -> dict[str, Any]:
        return {
            "n": len(x.ms),
            "p50_ms": x.p50,
            "p99_ms": x.p99,
            "errors": x.errors,
            "ms": [round(v, 2) for v in x.ms],
        }

    return {
        "plan": asdict(plan),
        "context": results.context,
        "sizes": {k: asdict(v) for k, v in results.sizes.items()},
        "latency": {f"{s}.{k}": lat(v) for (s, k), v in results.latency.items()},
        "latency_again": {f"{s}.{k}": lat(v) for (s, k), v in results.confirm.items()},
        "throughput": {
            f"{s}.{k}": {
                "requests": v.requests,
                "in_flight": v.concurrency,
                "seconds": v.seconds,
                "per_s": v.per_s,
                "errors": v.errors,
                "latency": lat(v.latency),
            }
            for (s, k), v in results.throughput.items()
        },
        "cpu_ms_per_request": {
            f"{s}.{k}": {n: ms for n, ms in v.items() if on_path(s, n)}
            for (s, k), v in results.cpu_per_request.items()
        },
        "cpu_ms_per_request_off_path": {
            f"{s}.{k}": {n: ms for n, ms in v.items() if not on_path(s, n)}
            for (s, k), v in results.cpu_per_request.items()
        },
        "services": results.services,
        "orchestrator": results.orchestrator,
        "answered": results.answered,
        "idle_cpu_pct": results.idle_cpu_pct,
        "others_cpu_pct": results.others_cpu_pct,
        "steal_pct": results.steal_pct,
        "missed": missed,
        "seconds": results.seconds,
    }
