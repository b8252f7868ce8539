"""The measuring steps, on a stack that is up: warm-up, latency, throughput, the second look.

The mesh and the raw hops are measured in the same steps, their requests
alternating (ABBA), so load from elsewhere on the machine falls on both alike:
request by request for latency, half against half for throughput, during which
every process's CPU is counted.
"""

from __future__ import annotations

import asyncio
import time

from aiokafka import TopicPartition

from bench.cpu import CpuMeter
from bench.measure import step
from bench.overhead.asks import (
    Ask,
    OnFailure,
    concurrent,
    how_answered,
    mesh_ask,
    raw_ask,
    sequential,
    warm_up,
)
from bench.overhead.guard import single_ratio
from bench.overhead.plan import (
    FANOUT_CALLS,
    FANOUT_TEXT,
    KINDS,
    SIDES,
    SINGLE_TEXT,
    Results,
    RunPlan,
    Sizes,
    Throughput,
)
from bench.overhead.raw_client import RawClient
from bench.stats import Latencies, median
from slmesh.runtime.client import MeshClient
from slmesh.runtime.kafka import groupless_consumer
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import RequestCompleted, encode


async def measure(
    plan: RunPlan,
    results: Results,
    settings: MeshSettings,
    mesh: MeshClient,
    raw: RawClient,
    pids: dict[str, int],
    on_failure: OnFailure,
) -> None:
    calls = {"single": 1, "fanout": FANOUT_CALLS}
    texts = {"single": SINGLE_TEXT, "fanout": FANOUT_TEXT}
    response_sizes: dict[str, list[int]] = {kind: [] for kind in KINDS}
    asks: dict[tuple[str, str], Ask] = {}

    step(f"warming up the mesh ({plan.warmup} requests of each kind) ...")
    for kind in KINDS:
        answers: list[RequestCompleted] = []
        ask = mesh_ask(mesh, texts[kind], calls[kind], response_sizes[kind], answers)
        await warm_up(ask, plan.warmup, f"mesh {kind}")
        asks["mesh", kind] = mesh_ask(mesh, texts[kind], calls[kind])
        # The last warm-up answer: the first ones pay for cold caches and models.
        results.answered[kind] = how_answered(answers[-1])
        step(f"{kind}: {results.answered[kind]}")

    # The raw events are padded to the sizes the mesh's own events just had.
    task_sizes = await sample_sizes(settings, settings.task_topic("vat-rates"))
    reply_sizes = await sample_sizes(settings, settings.replies_topic)
    for kind in KINDS:
        results.sizes[kind] = Sizes(
            request=len(encode(mesh.request(texts[kind]))),
            task=round(median([float(s) for s in task_sizes])) if task_sizes else 600,
            reply=round(median([float(s) for s in reply_sizes])) if reply_sizes else 900,
            response=round(median([float(s) for s in response_sizes[kind]])),
        )
        asks["raw", kind] = raw_ask(raw, calls[kind], results.sizes[kind])
    step("warming up the raw ping-pong ...")
    for kind in KINDS:
        await warm_up(asks["raw", kind], plan.warmup, f"raw {kind}")

    meter = CpuMeter(pids)
    with meter.measuring():
        await asyncio.sleep(plan.idle_s)
    results.idle_cpu_pct = meter.percent()

    whole = CpuMeter(pids)
    with whole.measuring():
        await measure_latency(plan, results, asks, on_failure)
        await measure_throughput(plan, results, asks, meter, on_failure)
        if plan.confirm_above is not None and single_ratio(results.latency) > plan.confirm_above:
            await confirm_single(plan, results, asks, on_failure)
    results.others_cpu_pct = whole.others_pct
    results.steal_pct = whole.steal_pct


async def confirm_single(
    plan: RunPlan, results: Results, asks: dict[tuple[str, str], Ask], on_failure: OnFailure
) -> None:
    """The single-call latency once more, when the first measurement crossed the guard.

    On two cores a burst of other work slows the mesh (more processes, more CPU per
    request) more than the raw relays, and can carry one measurement's ratio past the
    guard; a regression of the mesh reproduces, a burst seldom lasts both.
    """
    step(
        f"single-call mesh/raw p50 {single_ratio(results.latency):.2f}x > "
        f"{plan.confirm_above:g}x: measuring it again ({plan.single} per side) to tell a "
        "regression from a busy moment ..."
    )
    for side in SIDES:
        results.confirm[side, "single"] = Latencies()
    for i in range(plan.single):
        for side in SIDES if i % 2 == 0 else SIDES[::-1]:
            await sequential(asks[side, "single"], 1, results.confirm[side, "single"], on_failure)


async def measure_latency(
    plan: RunPlan, results: Results, asks: dict[tuple[str, str], Ask], on_failure: OnFailure
) -> None:
    """Sequential requests, mesh and raw alternating request by request (ABBA).

    Alternating this finely means load from elsewhere on the machine, which
    comes and goes, falls on both sides alike instead of on whichever ran then.
    """
    counts = {"single": plan.single, "fanout": plan.fanout}
    for key in asks:
        results.latency[key] = Latencies()
    for kind in KINDS:
        step(f"latency, {kind}: {counts[kind]} sequential requests per side, alternating ...")
        for i in range(counts[kind]):
            for side in SIDES if i % 2 == 0 else SIDES[::-1]:
                await sequential(asks[side, kind], 1, results.latency[side, kind], on_failure)


async def measure_throughput(
    plan: RunPlan,
    results: Results,
    asks: dict[tuple[str, str], Ask],
    meter: CpuMeter,
    on_failure: OnFailure,
) -> None:
    """A fixed count, a fixed number in flight; two halves per side: mesh, raw, raw, mesh."""
    totals = {"single": plan.tp_single, "fanout": plan.tp_fanout}
    for kind in KINDS:
        step(f"throughput, {kind}: {totals[kind]} requests, {plan.in_flight} in flight ...")
        cpu: dict[str, dict[str, float]] = {side: {} for side in SIDES}
        for half, side in enumerate((*SIDES, *SIDES[::-1])):
            count = totals[kind] // 2 if half < 2 else totals[kind] - totals[kind] // 2
            with meter.measuring():
                part = await concurrent(asks[side, kind], count, plan.in_flight, on_failure)
            tp = results.throughput.setdefault((side, kind), Throughput(concurrency=plan.in_flight))
            tp.requests += part.requests
            tp.seconds += part.seconds
            tp.errors += part.errors
            tp.latency.ms.extend(part.latency.ms)
            for name, used in meter.used.items():
                cpu[side][name] = cpu[side].get(name, 0.0) + used
        for side in SIDES:
            tp = results.throughput[side, kind]
            done = max(tp.requests - tp.errors, 1)
            # Idle polling included, since it goes on while requests are in flight too.
            results.cpu_per_request[side, kind] = {
                n: 1000 * used / done for n, used in cpu[side].items()
            }


async def sample_sizes(settings: MeshSettings, topic: str, want: int = 60) -> list[int]:
    """Value sizes of up to `want` records already on `topic` (read from the beginning)."""
    consumer = groupless_consumer(settings)
    await consumer.start()
    sizes: list[int] = []
    try:
        await consumer._client.force_metadata_update()
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + 3.0
        while len(sizes) < want and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200, max_records=want)
            for records in batches.values():
                sizes.extend(len(r.value or b"") for r in records)
    finally:
        await consumer.stop()
    return sizes
