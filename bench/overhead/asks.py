"""Sending requests: one request of a kind on a side (`Ask`), one at a time or many in flight.

An `Ask` sends one request and returns once it is answered, so the steps time the
mesh and the raw hops alike; a failed request counts as an error of its side,
and `failure_policy` decides whether the run can go on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from bench.overhead.plan import Sizes, Throughput
from bench.overhead.raw_client import RawClient
from bench.stats import Latencies
from slmesh.cli.devstack import DevStack
from slmesh.runtime.client import MeshClient
from slmesh.schemas import RequestCompleted, encode

REQUEST_TIMEOUT_S = 10.0
# Past this many failed requests on one side the run stops: its figures would mean nothing,
# and waiting out more timeouts would blow the time budget.
MAX_ERRORS = 3
WARMUP_TIMEOUT_S = 60.0

Ask = Callable[[float], Awaitable[None]]


def mesh_ask(
    client: MeshClient,
    text: str,
    calls: int,
    seen: list[int] | None = None,
    answers: list[RequestCompleted] | None = None,
) -> Ask:
    async def ask(timeout_s: float) -> None:
        response = await client.ask(text, timeout_s=timeout_s)
        check_response(response, calls)
        if seen is not None:
            seen.append(len(encode(response)))
        if answers is not None:
            answers.append(response)

    return ask


def how_answered(response: RequestCompleted) -> str:
    """Planner, composer and model work of a response: whether a model was on the path."""
    data = response.data
    models = [
        f"{role} model {work.model} {work.tokens.prompt}+{work.tokens.completion} tokens "
        f"{work.latency_ms:.0f} ms"
        for role, work in (("planner", data.planning), ("composer", data.composing))
        if work is not None
    ]
    called = sorted({c.micromodel for c in data.calls or []})
    return (
        f"planner {data.planner!r}, composer {data.composer!r}, calls to {', '.join(called)}; "
        + ("; ".join(models) if models else "no model work")
    )


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
