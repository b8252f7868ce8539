"""`slmesh tail`, `lag` and `registry` as a user runs them, against the suite's running mesh.

Each test reads only records, topics and groups of its own (or of the requests it
just sent): other tests share the mesh.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import uuid
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from slmesh.cli.devstack import free_port
from slmesh.runtime.client import MeshClient
from slmesh.runtime.kafka import admin_kwargs, ensure_topics
from slmesh.runtime.registry.catalogue import LIVENESS_GRACE_S, MISSED_HEARTBEATS
from slmesh.runtime.settings import MeshSettings
from tests.support.kit import RawProducer, mesh_id

SLMESH = str(Path(sys.executable).parent / "slmesh")


def env_for(bootstrap_servers: str) -> dict[str, str]:
    return {**os.environ, "SLMESH_BOOTSTRAP_SERVERS": bootstrap_servers}


async def slmesh(bootstrap_servers: str, *args: str) -> tuple[int, str, str]:
    """Exit code, standard output and standard error of `slmesh ARGS`."""
    proc = await asyncio.create_subprocess_exec(
        SLMESH,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env_for(bootstrap_servers),
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def own_topic(settings: MeshSettings, what: str) -> str:
    topic = f"slmesh.test.{what}.{uuid.uuid4().hex[:8]}"
    await ensure_topics(settings, [topic])
    return topic


# --- tail ------------------------------------------------------------------------------------


async def test_tail_shows_a_requests_tasks_from_the_beginning_up_to_max(
    settings: MeshSettings, mesh: MeshClient
) -> None:
    response = await mesh.ask("What are the VAT rates in Germany, France and Italy?", timeout_s=60)
    assert response.data.status == "ok"
    rid = response.requestid
    args = ["tail", "tasks.vat-rates", "--from-beginning", "--request-id", rid, "--max", "3"]
    code, out, err = await slmesh(settings.bootstrap_servers, *args)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 3, out
    # Asked by the caller's own request id, shown by the mesh's (its tasks carry that).
    scoped = mesh_id(rid)
    for line in lines:
        fields = line.split()
        assert fields[1].startswith(f"{settings.task_topic('vat-rates')}[")
        assert fields[2:5] == ["TaskRequested", scoped, "vat-rates"]
    countries = {c for line in lines for c in ("DE", "FR", "IT") if f'"country":"{c}"' in line}
    assert countries == {"DE", "FR", "IT"}

    code, out, err = await slmesh(settings.bootstrap_servers, *args, "--json")
    assert code == 0, err
    records = [orjson.loads(line) for line in out.splitlines()]
    assert len(records) == 3
    for record in records:
        assert set(record) == {
            "topic",
            "partition",
            "offset",
            "timestamp",
            "key",
            "headers",
            "value",
        }
        assert record["topic"] == settings.task_topic("vat-rates")
        # A task is keyed by its task id: the request id and the call's number.
        assert record["key"] == record["value"]["data"]["task_id"]
        assert record["key"].startswith(f"{scoped}:")
        assert record["value"]["type"] == "slmesh.TaskRequested"
        assert record["value"]["requestid"] == scoped


async def test_tail_filters_by_type_long_or_short(settings: MeshSettings, mesh: MeshClient) -> None:
    response = await mesh.ask("VAT rates in Portugal?", timeout_s=60)
    rid = response.requestid
    # The dev caller's own response topic: the one the tests' client is answered on.
    every = ["tail", "responses.dev", "--from-beginning", "--request-id", rid, "--timeout", "3"]
    code, out, err = await slmesh(settings.bootstrap_servers, *every)
    assert code == 0, err
    [line] = out.splitlines()
    assert f" RequestCompleted {rid} ok in " in line
    assert "Portugal (PT)" in line
    for kind in ("slmesh.RequestCompleted", "RequestCompleted"):
        code, out, err = await slmesh(settings.bootstrap_servers, *every, "--type", kind)
        assert code == 0, err
        assert out.splitlines() == [line]
    code, out, err = await slmesh(settings.bootstrap_servers, *every, "--type", "TaskFailed")
    assert (code, out) == (0, ""), err


async def test_tail_follows_a_topic_and_shows_garbage_as_such(
    settings: MeshSettings, raw: RawProducer
) -> None:
    topic = await own_topic(settings, "tail")
    key = f"tail-{uuid.uuid4().hex[:8]}"
    # Records already there are not followed without --from-beginning.
    await raw.send(topic, b"before", key=key)
    proc = await asyncio.create_subprocess_exec(
        SLMESH,
        "tail",
        topic,
        "--request-id",
        key,
        "--max",
        "1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env_for(settings.bootstrap_servers),
    )
    try:
        # Garbage until the tail, once at the end of the topic, shows one and stops.
        communicated = asyncio.ensure_future(proc.communicate())
        async with asyncio.timeout(60):
            while not communicated.done():
                await raw.send(topic, b"\xff\xfe\x00 garbage", key=key)
                await asyncio.wait({communicated}, timeout=0.5)
        out, err = communicated.result()
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
    assert proc.returncode == 0, err.decode()
    [line] = out.decode().splitlines()
    assert f"{topic}[" in line
    assert f" - {key} (not JSON: 11 bytes" in line
    assert "before" not in line

    # As JSON: the value as text, what could be decoded of it.
    code, out_text, err_text = await slmesh(
        settings.bootstrap_servers, "tail", topic, "--from-beginning", "--max", "2", "--json"
    )
    assert code == 0, err_text
    first, second = (orjson.loads(line) for line in out_text.splitlines())
    assert (first["value"], first["offset"], first["key"]) == ("before", 0, key)
    assert second["value"] == "\ufffd\ufffd\x00 garbage"


async def test_tail_into_a_reader_that_goes_away_ends_quietly(
    settings: MeshSettings, raw: RawProducer
) -> None:
    """`slmesh tail T | head -1`: no traceback when `head` has gone."""
    topic = await own_topic(settings, "pipe")
    key = f"pipe-{uuid.uuid4().hex[:8]}"
    read_end, write_end = os.pipe()
    proc = await asyncio.create_subprocess_exec(
        SLMESH,
        "tail",
        topic,
        "--request-id",
        key,
        stdout=write_end,
        stderr=asyncio.subprocess.PIPE,
        env=env_for(settings.bootstrap_servers),
    )
    os.close(write_end)
    try:
        os.set_blocking(read_end, False)
        async with asyncio.timeout(60):
            first = b""
            # Records until the tail, once at the end of the topic, shows one ...
            while not first:
                await raw.send(topic, b"one", key=key)
                await asyncio.sleep(0.5)
                with contextlib.suppress(BlockingIOError):
                    first = os.read(read_end, 4096)
            os.close(read_end)
            read_end = -1
            # ... and, the reader gone, the next it would show ends it.
            stderr = asyncio.ensure_future(proc.communicate())
            while not stderr.done():
                await raw.send(topic, b"two", key=key)
                await asyncio.wait({stderr}, timeout=0.5)
        _, err = stderr.result()
    finally:
        if read_end >= 0:
            os.close(read_end)
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
    assert f" - {key} (not JSON: 3 bytes" in first.decode()
    assert proc.returncode == 0, err.decode()
    assert "Traceback" not in err.decode()
    assert "BrokenPipeError" not in err.decode()


async def test_tail_stops_when_quiet_and_says_when_a_topic_does_not_exist(
    settings: MeshSettings,
) -> None:
    topic = await own_topic(settings, "quiet")
    code, out, err = await slmesh(settings.bootstrap_servers, "tail", topic, "--timeout", "1")
    assert (code, out) == (0, ""), err
    code, out, err = await slmesh(
        settings.bootstrap_servers, "tail", f"slmesh.never.{uuid.uuid4().hex[:8]}", "--timeout", "1"
    )
    assert code == 6, err
    assert "does not exist" in err


# --- lag ---------------------------------------------------------------------------------------


def lag_rows(out: str) -> dict[tuple[str, str], list[str]]:
    """(group, topic) -> the row's fields; notes under the table are left out."""
    rows = {}
    for line in out.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 6 and fields[0].startswith("slmesh.") and fields[2].isdigit():
            rows[fields[0], fields[1]] = fields
    return rows


async def test_lag_lists_the_mesh_groups_and_a_group_of_its_own(
    settings: MeshSettings, mesh: MeshClient, raw: RawProducer
) -> None:
    response = await mesh.ask("VAT rates in Germany?", timeout_s=60)
    assert response.data.status == "ok"
    # A group of the mesh's name that no topic names (as an operator's or a shadow
    # candidate's): known from the broker alone.
    topic = await own_topic(settings, "lag")
    group = f"slmesh.test.lag.{uuid.uuid4().hex[:8]}"
    for n in range(3):
        await raw.send(topic, b"%d" % n, partition=0)
    consumer = AIOKafkaConsumer(**admin_kwargs(settings), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.commit({tp: 1})
    finally:
        await consumer.stop()

    code, out, err = await slmesh(settings.bootstrap_servers, "lag")
    assert code == 0, err
    assert out.splitlines()[0].split() == [
        "group",
        "topic",
        "committed",
        "end",
        "lag",
        "members",
        "micromodel",
    ]
    rows = lag_rows(out)
    for name, consumed in (
        ("slmesh.orchestrator.requests", settings.requests_topic),
        ("slmesh.orchestrator.replies", settings.replies_topic),
        ("slmesh.micromodel.vat-rates", settings.task_topic("vat-rates")),
    ):
        fields = rows[name, consumed]
        committed, end, lag = int(fields[2]), int(fields[3]), int(fields[4])
        assert end >= committed >= 1, out
        assert lag == end - committed >= 0, out
    assert rows["slmesh.micromodel.vat-rates", settings.task_topic("vat-rates")][6] == "vat-rates"
    assert len(rows["slmesh.orchestrator.requests", settings.requests_topic]) == 6
    mine = rows[group, topic]
    committed, end, lag = int(mine[2]), int(mine[3]), int(mine[4])
    assert committed == 1
    assert lag == end - committed >= 0
    # Only the topic it committed on; nobody is in it.
    assert [key for key in rows if key[0] == group] == [(group, topic)]
    assert mine[5] == "0"
    assert "would not list" not in out


# --- registry ----------------------------------------------------------------------------------


async def test_registry_shows_vat_rates_live_with_a_recent_heartbeat(
    settings: MeshSettings,
) -> None:
    code, out, err = await slmesh(settings.bootstrap_servers, "registry")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["micromodel", "version", "replicas", "model"]
    at = next(n for n, line in enumerate(lines) if line.startswith("vat-rates "))
    name, version, count, model = lines[at].split()
    assert (name, model) == ("vat-rates", "deterministic")
    assert version.count(".") == 2
    # Its replicas are listed under it, indented (others may be gone: tests stop some).
    replicas = []
    for line in lines[at + 1 :]:
        if not line.startswith(" "):
            break
        replicas.append(line.split())
    assert all(r[0].startswith("vat-rates-") for r in replicas), out
    live = [r for r in replicas if r[1] == "live"]
    # The count is of the live ones.
    assert len(live) == int(count) >= 1, out
    for replica in live:
        assert replica[2] == "heard"
        assert replica[4:] == ["s", "ago"]
        # Live: heard within three heartbeats and the grace (what the orchestrator goes by).
        assert 0 <= float(replica[3]) < MISSED_HEARTBEATS * settings.heartbeat_s + LIVENESS_GRACE_S


# --- without a broker --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args", [["tail", "requests", "--timeout", "1"], ["lag"], ["registry"]], ids=lambda a: a[0]
)
async def test_without_a_broker_each_command_says_so_and_exits_4(args: list[str]) -> None:
    code, out, err = await slmesh(f"127.0.0.1:{free_port()}", *args)
    assert code == 4, err
    assert out == ""
    assert "Is the mesh running? `slmesh dev` starts one" in err
    assert "Traceback" not in err
