"""What the integration tests drive the mesh with: taps on topics, a raw producer, helpers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from slmesh.cli.devstack import DevStack
from slmesh.runtime.client import MeshClient
from slmesh.runtime.kafka import admin_kwargs, partitions_of
from slmesh.runtime.kafka.publishing import (
    DLQ_ATTEMPTS,
    DLQ_ERROR,
    DLQ_ERROR_CODE,
    DLQ_OFFSET,
    DLQ_PARTITION,
    DLQ_SERVICE,
    DLQ_TOPIC,
)
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import (
    CONTENT_TYPE,
    ContractError,
    Envelope,
    RequestCompleted,
    RequestSubmitted,
    TaskCompleted,
    TaskRequested,
    decode,
    encode,
)
from tests.support.identities import DEV_CALLER
from tests.support.proofs import ORCHESTRATOR as ORCHESTRATOR
from tests.support.proofs import STRUCTURED, Headers, proven, task_headers

E = TypeVar("E", bound=Envelope)

ORCHESTRATORS = ("orchestrator-1", "orchestrator-2")
GHOST = "ghost"
# The default time budget of a request in this session: short, so a request
# that is never answered still ends in a response within seconds.
DEFAULT_TIMEOUT_MS = 4000
# Generous waits: they only bound how long a broken mesh takes to fail a test.
WAIT_S = 30.0
# How long to keep listening for a second response that must not come. No
# test asserts timings; this only gives a duplicate the chance to show up.
QUIET_S = 1.5
# Consumer groups of the services; they commit a record only once it is handled.
REQUESTS_GROUP = "slmesh.orchestrator.requests"
REPLIES_GROUP = "slmesh.orchestrator.replies"
VAT_RATES_GROUP = "slmesh.micromodel.vat-rates"
SUMMARIZER_GROUP = "slmesh.micromodel.summarizer"
# Micromodels only the tests start, each run as `python <path>` (a service process).
ECHO_SERVICE = str(Path(__file__).with_name("echo_service.py"))
SLOW_SERVICE = str(Path(__file__).with_name("slow_service.py"))


# --- records and taps -------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]

    @property
    def key_text(self) -> str | None:
        return self.key.decode() if self.key is not None else None

    def header(self, name: str) -> str:
        return self.headers[name].decode()

    def event(self, cls: type[E]) -> E:
        """The record's value as a `cls` event (raises ContractError if it is not one)."""
        return decode(self.value, (cls,), max_bytes=len(self.value) + 1)


def _record(raw: Any) -> Record:
    return Record(
        topic=raw.topic,
        partition=raw.partition,
        offset=raw.offset,
        key=raw.key,
        value=raw.value or b"",
        headers={k: bytes(v) for k, v in (raw.headers or ())},
    )


class TopicTap:
    """Every record put on a topic from the moment the tap started, kept in memory.

    No consumer group: it takes all partitions and commits nothing, so it
    never steals records from the services.
    """

    def __init__(self, settings: MeshSettings, topic: str) -> None:
        self.topic = topic
        self.records: list[Record] = []
        self._consumer = AIOKafkaConsumer(
            **admin_kwargs(settings),
            group_id=None,
            enable_auto_commit=False,
            # Should a fetch position ever be reset, read again rather than skip:
            # records already kept are recognised by offset below.
            auto_offset_reset="earliest",
            fetch_max_wait_ms=5,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        self._arrived = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None
        self.partitions: list[int] = []
        # Partition -> offset of the next record the tap will keep.
        self._next: dict[int, int] = {}

    async def start(self, *, from_beginning: bool = False) -> None:
        await self._consumer.start()
        tps = await partitions_of(self._consumer, self.topic)
        self.partitions = [tp.partition for tp in tps]
        self._consumer.assign(tps)
        if from_beginning:
            await self._consumer.seek_to_beginning(*tps)
        else:
            await self._consumer.seek_to_end(*tps)
        for tp in tps:  # resolve the position now, not at the first fetch
            self._next[tp.partition] = await self._consumer.position(tp)
        self._reader = asyncio.create_task(self._read(), name=f"tap-{self.topic}")

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._consumer.stop()

    async def _read(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=200)
            fresh = [
                _record(r)
                for records in batches.values()
                for r in records
                if r.offset >= self._next.get(r.partition, 0)
            ]
            if fresh:
                async with self._arrived:
                    self.records.extend(fresh)
                    for record in fresh:
                        self._next[record.partition] = record.offset + 1
                    self._arrived.notify_all()

    async def caught_up(self, timeout: float = WAIT_S) -> None:  # noqa: ASYNC109
        """Wait until the tap holds every record the topic held when this was called."""
        tps = [TopicPartition(self.topic, p) for p in self.partitions]
        ends: dict[Any, int] = await self._consumer.end_offsets(tps)

        def done() -> bool:
            return all(self._next[tp.partition] >= end for tp, end in ends.items())

        async def wait() -> None:
            async with self._arrived:
                await self._arrived.wait_for(done)

        try:
            await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            raise AssertionError(f"{self.topic}: the tap did not catch up with {ends}") from None

    def matching(self, predicate: Callable[[Record], bool]) -> list[Record]:
        return [r for r in self.records if predicate(r)]

    async def wait_for(
        self,
        predicate: Callable[[Record], bool],
        count: int = 1,
        timeout: float = WAIT_S,  # noqa: ASYNC109
    ) -> list[Record]:
        """The first `count` records matching `predicate`, waiting for them if need be."""

        async def enough() -> list[Record]:
            async with self._arrived:
                await self._arrived.wait_for(lambda: len(self.matching(predicate)) >= count)
            return self.matching(predicate)[:count]

        try:
            return await asyncio.wait_for(enough(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"{self.topic}: {count} matching record(s) did not arrive within {timeout:g}s; "
                f"{len(self.matching(predicate))} did"
            ) from None


# --- proofs, as an identity of the suite's keyring would make them --------------------


def prove_as(
    identity: str,
    topic: str,
    value: bytes,
    *,
    key: str | None = None,
    to: str | None = ORCHESTRATOR,
    headers: Sequence[tuple[str, bytes]] | None = None,
) -> list[tuple[str, bytes]]:
    """A record's headers (`headers`, else the structured mode's content type) with the proof
    that `identity` wrote it for `to` (None: signed, for anyone)."""
    return proven(
        identity, topic, key, value, to=to, headers=STRUCTURED if headers is None else headers
    )


# --- a producer that says where each record went ------------------------------------


class NotConsumed(AssertionError):
    """A consumer group did not commit past a record in time."""


@dataclass(frozen=True)
class Sent:
    topic: str
    partition: int
    offset: int


class RawProducer:
    """Puts bytes on any topic and partition, as a foreign enterprise system would."""

    def __init__(self, settings: MeshSettings) -> None:
        self._producer = AIOKafkaProducer(
            **admin_kwargs(settings),
            acks="all",
            enable_idempotence=False,
            linger_ms=0,
            max_request_size=4 * 1024 * 1024,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def send(
        self,
        topic: str,
        value: bytes,
        *,
        key: str | None = None,
        partition: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        proven_as: str | None = None,
    ) -> Sent:
        """`proven_as`: the identity whose proof for the orchestrator the record carries
        (a caller's, for a request); None: no proof, as a stranger would send it."""
        if proven_as is not None:
            headers = prove_as(proven_as, topic, value, key=key, headers=headers)
        meta = await self._producer.send_and_wait(
            topic,
            value,
            key=key.encode() if key is not None else None,
            partition=partition,
            headers=headers or [("content-type", CONTENT_TYPE.encode())],
        )
        return Sent(topic=meta.topic, partition=meta.partition, offset=meta.offset)


# --- helpers the tests share --------------------------------------------------------


def new_id(prefix: str = "it") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def responses_for(tap: TopicTap, request_id: str) -> list[Record]:
    return tap.matching(lambda r: r.key_text == request_id)


async def settle(tap: TopicTap) -> None:
    """Give stray records (say, a duplicate response) time to appear, and read them all."""
    await asyncio.sleep(QUIET_S)
    await tap.caught_up()


async def no_second_response(tap: TopicTap, request_id: str) -> None:
    """Fail if more than one response for `request_id` shows up while we listen."""
    await settle(tap)
    found = responses_for(tap, request_id)
    ids = [rec.event(RequestCompleted).id for rec in found]
    assert len(found) == 1, f"{len(found)} responses for {request_id}: {ids}"


def mesh_id(request_id: str, caller: str = DEV_CALLER) -> str:
    """The mesh's id of a caller's request: its tasks, replies and gather state carry it."""
    return f"{caller}:{request_id}"


async def ghost_tasks_of(
    tap: TopicTap, request_id: str, count: int, caller: str = DEV_CALLER
) -> list[TaskRequested]:
    """The first `count` tasks of `caller`'s request `request_id` (its own id) on `tap`."""
    scoped = mesh_id(request_id, caller)
    records = await tap.wait_for(lambda r: _request_id_of(r) == scoped, count)
    tasks: list[TaskRequested] = [r.event(TaskRequested) for r in records]
    return sorted(tasks, key=lambda t: t.data.task_id)


def _request_id_of(record: Record) -> str | None:
    try:
        event: Envelope = decode(record.value, (TaskRequested,))
    except ContractError:
        return None
    return event.requestid


def ghost_answer(task: TaskRequested, output: dict[str, Any]) -> TaskCompleted:
    return TaskCompleted.create(
        data={
            "task_id": task.data.task_id,
            "micromodel": GHOST,
            "output": output,
            "summary": f"ghost says {output}",
            "model": "deterministic",
            "latency_ms": 1.0,
            "replica": "ghost-played-by-the-tests",
        },
        source="/slmesh/ghost/integration-tests",
        request_id=task.requestid,
        causation_id=task.id,
    )


async def reply_as_ghost(
    raw: RawProducer, task: TaskRequested, output: dict[str, Any], partition: int | None = None
) -> Sent:
    """Answer a ghost task as the ghost micromodel would: proven by its identity."""
    value = encode(ghost_answer(task, output))
    return await send_reply(
        raw, task.data.reply_topic, value, key=task.requestid, signer=GHOST, partition=partition
    )


async def send_reply(
    raw: RawProducer,
    topic: str,
    value: bytes,
    *,
    key: str,
    signer: str,
    partition: int | None = None,
) -> Sent:
    """A reply record on the replies `topic`, proven by `signer` for the orchestrator."""
    headers = proven(signer, topic, key, value, to=ORCHESTRATOR)
    return await raw.send(topic, value, key=key, partition=partition, headers=headers)


async def send_task(
    raw: RawProducer,
    settings: MeshSettings,
    micromodel: str,
    value: bytes,
    *,
    key: str,
    partition: int | None = None,
    headers: Headers = STRUCTURED,
    signer: str = ORCHESTRATOR,
) -> Sent:
    """A task record on `micromodel`'s topic, proven as the orchestrator proves it (or by
    `signer`, when a test forges one)."""
    proof = task_headers(settings, micromodel, key, value, headers=headers, signer=signer)
    topic = settings.task_topic(micromodel)
    return await raw.send(topic, value, key=key, partition=partition, headers=proof)


async def until_consumed(
    settings: MeshSettings,
    group: str,
    *sent: Sent,
    timeout: float = WAIT_S,  # noqa: ASYNC109
) -> None:
    """Wait until `group` has committed past every record in `sent`.

    The services commit a record only after handling it, so this tells a test
    that the records were processed, and that what they did not cause has not
    merely been missed.
    """
    tps = sorted({TopicPartition(s.topic, s.partition) for s in sent})
    # Tansu drops the connection on an OffsetFetch for all partitions of a group,
    # so the partitions are always named.
    admin = AIOKafkaAdminClient(**admin_kwargs(settings))
    await admin.start()

    async def behind() -> list[Sent]:
        offsets = await admin.list_consumer_group_offsets(group, partitions=tps)
        committed = {tp: meta.offset for tp, meta in offsets.items()}
        return [
            s for s in sent if committed.get(TopicPartition(s.topic, s.partition), -1) <= s.offset
        ]

    async def poll() -> None:
        while await behind():  # noqa: ASYNC110
            await asyncio.sleep(0.05)

    try:
        await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        raise NotConsumed(f"{group} did not commit past {await behind()}") from None
    finally:
        await admin.close()


def new_request(mesh: MeshClient, text: str, **data: Any) -> RequestSubmitted:
    """A request with an id of its own (the client would make one up, too)."""
    return mesh.request(text, request_id=new_id(), **data)


def ghost_request(mesh: MeshClient, calls: int, timeout_ms: int) -> RequestSubmitted:
    """A request of `calls` explicit calls to the ghost, which the test answers by hand."""
    return new_request(
        mesh,
        f"{calls} ghost calls",
        calls=[{"micromodel": GHOST, "arguments": {"n": n}} for n in range(1, calls + 1)],
        timeout_ms=timeout_ms,
    )


async def serves_next_request(
    mesh: MeshClient, raw: RawProducer, partition: int | None = None
) -> RequestCompleted:
    """A good request (on `partition` of the requests topic, if given) is answered in full.

    Sent on the partition a bad record went to, it must pass the same
    consumer after that record: proof that the consumer moved on.
    """
    request = new_request(mesh, "VAT rates in Germany please")
    future = mesh.expect(request.requestid)
    await raw.send(
        mesh.settings.requests_topic,
        encode(request),
        key=request.requestid,
        partition=partition,
        proven_as=mesh.party.name,
    )
    response = await asyncio.wait_for(future, WAIT_S)
    assert response.data.status == "ok", response.data.answer
    assert "Germany (DE): standard 19%" in response.data.answer
    return response


def task_for(micromodel: str, arguments: dict[str, Any], reply_topic: str) -> TaskRequested:
    """A task as an orchestrator would put it on a micromodel's topic, of a request of its own."""
    request_id = new_id()
    return TaskRequested.create(
        data={
            "task_id": f"{request_id}:1",
            "micromodel": micromodel,
            "arguments": arguments,
            "deadline": "2999-01-01T00:00:00Z",
            "reply_topic": reply_topic,
        },
        source="/slmesh/integration-tests",
        request_id=request_id,
    )


async def dead_letter_of(deadletters: TopicTap, value: bytes) -> Record:
    [record] = await deadletters.wait_for(lambda r: r.value == value)
    return record


def assert_dead_letter(
    record: Record, sent: Sent, *, code: str, service: str, attempts: int = 1
) -> None:
    assert record.header(DLQ_ERROR_CODE) == code
    assert record.header(DLQ_ERROR), "a dead letter says why"
    assert record.header(DLQ_TOPIC) == sent.topic
    assert int(record.header(DLQ_PARTITION)) == sent.partition
    assert int(record.header(DLQ_OFFSET)) == sent.offset
    assert record.header(DLQ_ATTEMPTS) == str(attempts)
    assert record.header(DLQ_SERVICE) == service


def assert_services_running(stack: DevStack) -> None:
    states = {s.name: s.state for s in stack.services}
    assert all(state == "running" for state in states.values()), states


async def run_ask(text: str, bootstrap_servers: str, *args: str) -> tuple[int, str]:
    """`slmesh ask` as a user runs it against the broker at `bootstrap_servers`.

    Its exit code and everything it printed; it must end within WAIT_S of its
    own timeout (60 s unless `args` say otherwise).
    """
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "slmesh"),
        "ask",
        text,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "SLMESH_BOOTSTRAP_SERVERS": bootstrap_servers},
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 60 + WAIT_S)
    finally:
        if proc.returncode is None:  # timed out, or the test gave up on it
            proc.kill()
    assert proc.returncode is not None
    return proc.returncode, out.decode()


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


async def run_cli(env: Mapping[str, str], *args: str, timeout_s: float = 60.0) -> Ran:
    """`python -m slmesh.cli *args` in a process of its own, `env` over this one's.

    The loop goes on meanwhile (a proxy or broker the test runs in it keeps serving).
    Its exit code and its stdout and stderr apart; it must end within `timeout_s`.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "slmesh.cli",
        *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(timeout_s):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:  # timed out, or the test gave up on it
            process.kill()
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())
