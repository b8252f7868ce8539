"""The raw relays: the baseline's four hops over plain aiokafka, in processes of their own.

    client -> t1 -> relay "front" -> t2 -> relay "echo" -> t3 -> relay "front" (gather)
           -> t4 -> client

The front relay plays the orchestrator: one process consuming both the requests and the
replies, fanning one request out to n tasks and answering once all n replies are in. It
keeps that count in memory (that is what "raw" means); the mesh keeps it in Redis.

Fresh topics with the mesh's partition count, the same broker-profile client kwargs,
events padded to the mesh's own sizes. A relay runs as `python -m bench.mesh_overhead
relay front|echo ...` (`relay_main`); `add_relay` puts one in the dev stack's process
group, so the relays start and stop with the mesh's services.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from slmesh.cli.devstack import DevStack, ServiceProcess
from slmesh.runtime.kafka import admin_kwargs, consumer_options, ensure_topics, profile_for
from slmesh.runtime.service import READY_MARKER
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import CONTENT_TYPE

HEADERS = [("content-type", CONTENT_TYPE.encode())]  # as the mesh sends
REPO_ROOT = Path(__file__).resolve().parents[2]


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


def add_relay(
    stack: DevStack, role: str, settings: MeshSettings, topics: RawTopics, commit: bool
) -> ServiceProcess:
    """A raw relay process in the stack's group: started with the mesh's services, stopped too."""
    argv = [
        sys.executable,
        "-m",
        "bench.mesh_overhead",
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
    # The relay imports the benchmark's entry module as `bench.mesh_overhead`, from
    # whatever directory the benchmark was started in: the repository's root goes on
    # its path.
    path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
    service = ServiceProcess(
        f"raw-relay-{role}",
        argv,
        {"PYTHONPATH": path},
        sink=stack.config.sink,
        ready_pattern=READY_MARKER,
    )
    return stack.services.add(service)
