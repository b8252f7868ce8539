"""The health and metrics endpoints: what each probe answers, and why."""

from __future__ import annotations

import asyncio
import inspect
import time
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from aiokafka import TopicPartition
from aiokafka.consumer.group_coordinator import GroupCoordinator

from slmesh.runtime.concurrency import Worker
from slmesh.runtime.kafka import create_broker
from slmesh.runtime.kafka.consumption import ConcurrentConsumption
from slmesh.runtime.service.health import HealthServer
from slmesh.runtime.service.metrics import task_done
from slmesh.runtime.service.skeleton import ServiceSkeleton
from slmesh.runtime.settings import MeshSettings


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


def test_the_endpoints_stay_on_loopback_in_dev_and_open_to_probes_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SLMESH_HTTP_HOST", raising=False)
    monkeypatch.delenv("SLMESH_DEPLOYMENT", raising=False)
    assert MeshSettings().http_bind_host == "127.0.0.1"
    # The kubelet's probes and Prometheus come from outside the pod.
    assert MeshSettings(deployment="production").http_bind_host == "0.0.0.0"
    assert MeshSettings(deployment="production", http_host="10.0.0.7").http_bind_host == (
        "10.0.0.7"
    )
    monkeypatch.setenv("SLMESH_HTTP_HOST", "::1")
    assert MeshSettings().http_bind_host == "::1"
    with pytest.raises(ValueError, match=r"(?i)http_host"):
        MeshSettings(http_host="0.0.0.0 ")


def skeleton_of(settings: MeshSettings) -> ServiceSkeleton:
    skeleton = ServiceSkeleton(
        create_broker(settings, client_id="health-test"),
        settings,
        topics=[],
        ready_line=lambda: "test",
    )
    skeleton.app()
    return skeleton


@pytest.mark.parametrize(("configured", "other"), [(None, "127.0.0.2"), ("127.0.0.2", "127.0.0.1")])
async def test_a_service_serves_its_endpoints_only_on_the_configured_address(
    monkeypatch: pytest.MonkeyPatch, configured: str | None, other: str
) -> None:
    monkeypatch.delenv("SLMESH_DEPLOYMENT", raising=False)
    settings = MeshSettings(http_port=0, http_host=configured)
    health = skeleton_of(settings).health
    assert health is not None
    await health.start()
    try:
        port = health.bound_port
        assert port is not None
        address = configured or "127.0.0.1"
        assert health._server is not None
        assert {s.getsockname()[0] for s in health._server.sockets} == {address}
        reader, writer = await asyncio.open_connection(address, port)
        writer.write(b"GET /livez HTTP/1.1\r\n\r\n")
        assert (await reader.read()).startswith(b"HTTP/1.1 200")
        writer.close()
        # Another address of this very machine finds nothing there.
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection(other, port)
    finally:
        await health.stop()
