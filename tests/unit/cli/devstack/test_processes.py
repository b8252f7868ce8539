"""The dev-stack building blocks: embedded Tansu, embedded Redis, process supervision."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from redis.exceptions import ConnectionError as RedisConnectionError

from slmesh.cli.devstack import (
    BrokerStartError,
    EmbeddedBroker,
    ProcessGroup,
    ServiceExitedError,
    ServiceProcess,
    ensure_redis,
    free_port,
)

pytestmark = pytest.mark.processes

PY = sys.executable


def _gone(pid: int) -> bool:
    """True once *pid* no longer exists (a zombie awaiting reaping counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    # The state letter follows the parenthesised command name.
    return stat.rsplit(")", 1)[1].split()[0] in {"Z", "X"}


async def _until_gone(pid: int, within: float = 3.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        await asyncio.sleep(0.02)
    return _gone(pid)


def _python(code: str) -> list[str]:
    return [PY, "-c", code]


READY_THEN_SLEEP = "print('service ready', flush=True)\nimport time\ntime.sleep(60)"
IGNORE_TERM_THEN_SLEEP = (
    "import signal, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ready, ignoring SIGTERM', flush=True)\n"
    "time.sleep(60)"
)


# --- embedded broker ---------------------------------------------------------


async def test_embedded_broker_round_trips_a_record_and_stops_without_leftovers(
    tmp_path: Path,
) -> None:
    log = tmp_path / "tansu.log"
    broker = EmbeddedBroker(log_path=log)
    async with broker:
        pid = broker.pid
        assert pid is not None
        assert broker.bootstrap_servers == f"127.0.0.1:{broker.port}"
        topic = f"roundtrip-{uuid.uuid4().hex[:8]}"
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        finally:
            await admin.close()

        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers)
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"hello", key=b"k")
        finally:
            await producer.stop()

        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=broker.bootstrap_servers,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=10,
        )
        await consumer.start()
        try:
            record = await asyncio.wait_for(consumer.getone(), 10)
        finally:
            await consumer.stop()
        assert (record.key, record.value) == (b"k", b"hello")

    assert await _until_gone(pid)
    assert broker.pid is None
    assert log.exists()
    await broker.stop()  # idempotent


async def test_embedded_broker_failure_names_the_binary_and_the_log(tmp_path: Path) -> None:
    fake = tmp_path / "not-tansu"
    fake.write_text("#!/bin/sh\necho 'cannot start' >&2\nexit 3\n")
    fake.chmod(0o755)
    log = tmp_path / "broker.log"

    with pytest.raises(BrokerStartError) as caught:
        await EmbeddedBroker(binary=str(fake), log_path=log, port=free_port()).start()

    message = str(caught.value)
    assert str(fake) in message
    assert str(log) in message
    assert "cannot start" in message


async def test_embedded_broker_refuses_a_port_someone_else_listens_on() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]

        with pytest.raises(BrokerStartError, match="in use"):
            await EmbeddedBroker(port).start()


# --- embedded redis ----------------------------------------------------------


async def test_owned_redis_serves_commands_survives_restart_and_stops(tmp_path: Path) -> None:
    handle = await ensure_redis(None, own=True, workdir=tmp_path)
    assert handle.owned
    first_pid = handle.pid
    assert first_pid is not None
    # redis-py only reconnects a pooled connection that died with the server
    # when told which errors to retry on.
    client = aioredis.Redis.from_url(handle.url, retry_on_error=[RedisConnectionError])
    try:
        assert await client.ping()
        await client.set("greeting", "hi")
        assert await client.get("greeting") == b"hi"

        url_before = handle.url
        await handle.restart()
        assert handle.url == url_before
        assert await _until_gone(first_pid)
        assert await client.ping()
        # Persistence is off, so a restart is also a wipe.
        assert await client.get("greeting") is None
    finally:
        await client.aclose()
        second_pid = handle.pid
        await handle.stop()

    assert second_pid is not None
    assert await _until_gone(second_pid)
    await handle.stop()  # idempotent


async def test_ensure_redis_borrows_a_running_redis_without_owning_it(tmp_path: Path) -> None:
    own = await ensure_redis(None, own=True, workdir=tmp_path)
    try:
        borrowed = await ensure_redis(own.url, workdir=tmp_path)
        assert borrowed.url == own.url
        assert not borrowed.owned
        assert borrowed.pid is None
        await borrowed.stop()
        with pytest.raises(RuntimeError):
            await borrowed.restart()
        client = aioredis.Redis.from_url(own.url)
        try:
            assert await client.ping()
        finally:
            await client.aclose()
    finally:
        await own.stop()


async def test_ensure_redis_starts_its_own_when_nothing_answers(tmp_path: Path) -> None:
    silent_url = f"redis://127.0.0.1:{free_port()}/2"
    handle = await ensure_redis(silent_url, workdir=tmp_path)
    try:
        assert handle.owned
        assert handle.url != silent_url
        assert handle.url.endswith("/2")
    finally:
        await handle.stop()


# --- service processes -------------------------------------------------------


async def test_service_reports_readiness_and_stops_on_sigterm() -> None:
    seen: list[tuple[str, str]] = []
    service = ServiceProcess(
        "sleeper",
        _python(READY_THEN_SLEEP),
        {},
        sink=lambda name, line: seen.append((name, line)),
        ready_pattern=r"ready",
    )
    assert service.state == "starting"
    await service.start()
    line = await service.wait_for_line(r"service ready", timeout=10)
    assert line == "service ready"
    assert service.state == "running"
    assert ("sleeper", "service ready") in seen
    assert service.recent_output() == ["service ready"]

    pid = service.pid
    assert pid is not None
    code = await service.stop(timeout=5)
    assert code == -signal.SIGTERM
    assert service.state == f"exited({-signal.SIGTERM})"
    assert _gone(pid)
    assert await service.stop() == code  # idempotent


async def test_kill_ends_a_service_that_ignores_sigterm() -> None:
    service = ServiceProcess("stubborn", _python(IGNORE_TERM_THEN_SLEEP), {})
    await service.start()
    await service.wait_for_line("ignoring SIGTERM", timeout=10)

    service.kill()

    assert await service.wait(timeout=5) == -9
    assert service.state == "exited(-9)"


async def test_stop_escalates_to_sigkill_after_the_grace_period() -> None:
    service = ServiceProcess("stubborn", _python(IGNORE_TERM_THEN_SLEEP), {})
    await service.start()
    await service.wait_for_line("ignoring SIGTERM", timeout=10)

    started = time.monotonic()
    assert await service.stop(timeout=0.3) == -9
    assert time.monotonic() - started < 3


async def test_stop_also_ends_processes_the_service_spawned() -> None:
    service = ServiceProcess(
        "parent", ["sh", "-c", 'sleep 60 & echo "child $!"; wait'], {}, ready_pattern="child"
    )
    await service.start()
    await service.wait_ready(10)
    child_pid = int(service.recent_output()[-1].split()[1])
    assert not _gone(child_pid)

    await service.stop(timeout=3)

    assert await _until_gone(child_pid)


async def test_wait_for_line_times_out_with_the_recent_output() -> None:
    service = ServiceProcess(
        "quiet",
        _python("print('hello from quiet', flush=True)\n" + "import time; time.sleep(60)"),
        {},
    )
    await service.start()
    try:
        with pytest.raises(TimeoutError, match="hello from quiet"):
            await service.wait_for_line("never printed", timeout=1.0)
    finally:
        await service.stop()


async def test_wait_for_line_fails_fast_when_the_service_exits() -> None:
    service = ServiceProcess(
        "crasher", _python("import sys; print('boom', flush=True); sys.exit(4)"), {}
    )
    await service.start()
    started = time.monotonic()
    with pytest.raises(ServiceExitedError, match="boom"):
        await service.wait_for_line("ready", timeout=10)
    assert time.monotonic() - started < 5
    assert await service.wait(timeout=5) == 4
    assert service.state == "exited(4)"


async def test_service_env_is_laid_over_the_parent_environment() -> None:
    service = ServiceProcess(
        "env",
        _python("import os; print(os.environ['SLMESH_PROBE'], 'PATH' in os.environ)"),
        {"SLMESH_PROBE": "from-test"},
    )
    await service.start()
    assert await service.wait(timeout=10) == 0
    assert service.recent_output() == ["from-test True"]


async def test_recent_output_keeps_only_the_last_lines() -> None:
    service = ServiceProcess("chatty", _python("for i in range(500): print(i)"), {}, history=200)
    await service.start()
    await service.wait(timeout=10)
    out = service.recent_output()
    assert len(out) == 200
    assert out[0] == "300"
    assert out[-1] == "499"


# --- process group -----------------------------------------------------------


async def test_group_starts_in_order_and_stops_in_reverse() -> None:
    stopped: list[str] = []
    # Each child reports its own SIGTERM so the order is observable from here.
    code = (
        "import signal, sys, time\n"
        "def bye(*_):\n"
        "    print('bye', flush=True)\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, bye)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)"
    )

    def sink(name: str, line: str) -> None:
        if line == "bye":
            stopped.append(name)

    group = ProcessGroup(stop_timeout=5)
    for name in ("broker", "redis", "worker"):
        group.add(ServiceProcess(name, _python(code), {}, sink=sink, ready_pattern="^ready$"))

    async with group:
        assert [s.state for s in group] == ["running"] * 3

    assert stopped == ["worker", "redis", "broker"]
    assert all(s.state == "exited(0)" for s in group)


async def test_group_stops_everything_on_sigterm_to_the_supervisor() -> None:
    group = ProcessGroup(stop_timeout=0.5)
    group.add(ServiceProcess("a", _python(READY_THEN_SLEEP), {}, ready_pattern="ready"))
    group.add(ServiceProcess("b", _python(IGNORE_TERM_THEN_SLEEP), {}, ready_pattern="ready"))
    await group.start_all()
    group.install_signal_handlers()
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(group.wait_stopped(), 10)
    finally:
        group.remove_signal_handlers()

    assert group["a"].state == f"exited({-signal.SIGTERM})"
    assert group["b"].state == "exited(-9)"


async def test_group_start_failure_stops_what_already_started() -> None:
    group = ProcessGroup(ready_timeout=5)
    first = group.add(ServiceProcess("first", _python(READY_THEN_SLEEP), {}, ready_pattern="ready"))
    group.add(ServiceProcess("broken", _python("raise SystemExit(2)"), {}, ready_pattern="ready"))

    with pytest.raises(ServiceExitedError):
        await group.start_all()

    assert first.state.startswith("exited(")
    assert first.pid is not None
    assert _gone(first.pid)
