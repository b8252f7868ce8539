"""The health and metrics endpoints: what each probe answers, and why."""

from __future__ import annotations

import asyncio
import inspect
import time
from types import SimpleNamespace
from typing import Any

import orjson
from aiokafka import TopicPartition
from aiokafka.consumer.group_coordinator import GroupCoordinator

from slmesh.runtime.concurrency import Worker
from slmesh.runtime.kafka.consumption import ConcurrentConsumption
from slmesh.runtime.service.health import HealthServer
from slmesh.runtime.service.metrics import task_done


async def get(port: int, path: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    response = await reader.read()
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


async def test_probes_answer_over_http_with_the_reasons_they_fail() -> None:
    failing: list[str] = []
    server = HealthServer(0, host="127.0.0.1", readiness=[lambda: list(failing)])
    await server.start()
    try:
        port = server.bound_port
        assert port is not None
        assert await get(port, "/livez") == (200, b'{"ok":true,"failing":[]}\n')
        failing.append("consumer requests is not in its group slmesh.orchestrator")
        status, body = await get(port, "/readyz")
        assert status == 503
        assert orjson.loads(body)["failing"] == failing
        task_done("vat-rates", 0.004)
        task_done("vat-rates", 0.2, code="invalid_arguments")
        status, metrics = await get(port, "/metrics")
        assert status == 200
        assert b'slmesh_tasks_total{code="",micromodel="vat-rates",status="ok"}' in metrics
        assert (
            b'slmesh_tasks_total{code="invalid_arguments",micromodel="vat-rates",status="failed"}'
            in metrics
        )
        assert b"slmesh_task_seconds_bucket" in metrics
        assert (await get(port, "/nowhere"))[0] == 404
    finally:
        await server.stop()


def consumption_with(consumer: Any) -> ConcurrentConsumption:
    async def handle(record: Any) -> None:
        pass

    consumption = ConcurrentConsumption("requests", handle, group="slmesh.orchestrator")
    consumption.subscriber = SimpleNamespace(consumer=consumer)
    return consumption


def test_a_consumer_is_in_its_group_when_it_holds_partitions_or_idles_in_it() -> None:
    tp = TopicPartition("slmesh.requests", 0)
    holding = SimpleNamespace(assignment=lambda: {tp}, _coordinator=None)
    idle = SimpleNamespace(
        assignment=set, _coordinator=SimpleNamespace(generation=3, coordinator_id=1)
    )
    joining = SimpleNamespace(
        assignment=set, _coordinator=SimpleNamespace(generation=-1, coordinator_id=None)
    )
    assert consumption_with(holding).in_group()
    assert consumption_with(idle).in_group()
    assert not consumption_with(joining).in_group()
    assert not consumption_with(None).in_group()


def test_aiokafka_keeps_group_membership_where_the_probe_reads_it() -> None:
    """The probe reads private attributes: this fails if an aiokafka upgrade moves them."""
    source = inspect.getsource(GroupCoordinator.__init__)
    assert "self.generation =" in source
    assert "self.coordinator_id = None" in source


async def test_a_worker_says_how_long_its_running_call_has_taken() -> None:
    worker = Worker("model")
    assert worker.busy_for() == 0.0
    started = asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow() -> None:
        loop.call_soon_threadsafe(started.set)
        time.sleep(0.3)

    call = asyncio.create_task(worker.run(slow))
    await started.wait()
    await asyncio.sleep(0.1)
    assert worker.busy_for() > 0.05
    await call
    assert worker.busy_for() == 0.0
    worker.shutdown()
