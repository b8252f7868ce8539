"""A client of the mesh: publish a request, wait for its response.

What `slmesh ask`, the tests and the benchmarks use, and a template for any
enterprise system: the contract is a topic and a JSON event, and two headers
that prove who wrote a record (slmesh.runtime.trust).

A client is a caller of the trust file. It proves each request to the
orchestrator (an HMAC only the two of them can make), reads its own response
topic alone (`<responses topic>.<caller>`), and believes only the answers
the orchestrator proved to it: anything else on that topic is skipped with
a warning, so a record another party put there cannot answer its requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from slmesh.runtime.kafka import (
    admin_kwargs,
    fetch_pace,
    groupless_consumer,
    partitions_of,
    profile_for,
)
from slmesh.runtime.lifecycle import Lifecycle
from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.tracing import TRACEPARENT, headers_of, producing
from slmesh.runtime.trust import PROOF_HEADER, MeshParty, Unproven, mesh_party, response_topic
from slmesh.schemas import (
    CONTENT_TYPE,
    ContractError,
    RequestCompleted,
    RequestSubmitted,
    decode,
    encode,
)

logger = logging.getLogger(__name__)

# The identity a client proves its requests as, unless SLMESH_IDENTITY names another.
DEFAULT_CALLER = "dev"


async def follow_from_end(consumer: AIOKafkaConsumer, topic: str) -> None:
    """Assign every partition of `topic` to a group-less consumer, positioned at the end.

    Positions are resolved here: a record published before the first fetch
    would otherwise be skipped by a lazily resolved "latest" offset.
    """
    tps = await partitions_of(consumer, topic)
    consumer.assign(tps)
    await consumer.seek_to_end(*tps)
    for tp in tps:
        await consumer.position(tp)


class MeshClient(Lifecycle):
    """Sends requests as its caller and hands back each request's response by its request id.

    Responses are read from every partition of the caller's response topic
    without a consumer group, starting at its end when the client starts, so
    many clients of one caller can share the topic and each sees the responses
    to its own requests. `party`: the caller (else from the settings:
    SLMESH_IDENTITY, default `dev`; raises TrustUnavailable saying what to set).
    """

    def __init__(
        self,
        settings: MeshSettings,
        *,
        source: str = "/slmesh/client",
        party: MeshParty | None = None,
    ) -> None:
        self.settings = settings
        self.source = source
        self.party = party or mesh_party(settings, DEFAULT_CALLER)
        # Requests are proven to the orchestrator alone; its answers come on this topic.
        self._orchestrator = self.party.policy.orchestrator
        self.responses_topic = response_topic(settings.responses_topic, self.party.name)
        profile = profile_for(settings)
        conn = admin_kwargs(settings)
        self._producer = AIOKafkaProducer(**conn, **profile.producer)
        self._consumer = groupless_consumer(settings)
        # Responses are fetched fast while requests are out, and not at all while
        # none is: on a broker where every fetch waits out its wait, an idle
        # client would otherwise poll it for ever.
        self._pace = fetch_pace(settings, hold=lambda: bool(self._waiting))
        self._partitions: list[TopicPartition] = []
        self._waiting: dict[str, asyncio.Future[RequestCompleted]] = {}
        # The event id of each awaited request, where known: an answer names it as its
        # cause, so an old answer put on the topic again answers no new request.
        self._causes: dict[str, str] = {}
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._producer.start()
        await self._consumer.start()
        await follow_from_end(self._consumer, self.responses_topic)
        self._partitions = list(self._consumer.assignment())
        if self._pace is not None:
            self._pace.follow_consumer(self._consumer)
            self._consumer.pause(*self._partitions)
        self._reader = asyncio.create_task(self._read_responses(), name="mesh-client-reader")

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._consumer.stop()
        await self._producer.stop()

    def request(self, text: str, *, request_id: str | None = None, **data: Any) -> RequestSubmitted:
        return RequestSubmitted.create(
            data={"input": text, **data},
            source=self.source,
            request_id=request_id or f"req-{uuid.uuid4().hex}",
        )

    async def submit(self, request: RequestSubmitted) -> asyncio.Future[RequestCompleted]:
        """Publish a request; the future resolves with its response."""
        future = self.expect(request.requestid, event_id=request.id)
        await self.send_raw(encode(request), key=request.requestid)
        return future

    async def ask(self, text: str, *, timeout_s: float = 60.0, **data: Any) -> RequestCompleted:
        future = await self.submit(self.request(text, **data))
        return await asyncio.wait_for(future, timeout_s)

    def expect(
        self, request_id: str, *, event_id: str | None = None
    ) -> asyncio.Future[RequestCompleted]:
        """A future for the response to a request sent some other way (e.g. raw bytes);
        `event_id`: the request event's id, when known (its answer must name it)."""
        future: asyncio.Future[RequestCompleted] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        if event_id is not None:
            self._causes[request_id] = event_id
        # Answered, timed out or cancelled: no longer waited for.
        future.add_done_callback(lambda done: self._forget(request_id, done))
        if self._pace is not None:
            # Paused partitions keep their positions: nothing published
            # meanwhile is missed, it is fetched now.
            self._consumer.resume(*self._partitions)
            self._pace.record_seen()
        return future

    def _forget(self, request_id: str, future: asyncio.Future[RequestCompleted]) -> None:
        if self._waiting.get(request_id) is future:
            del self._waiting[request_id]
            self._causes.pop(request_id, None)
        if not self._waiting and self._pace is not None:
            self._consumer.pause(*self._partitions)

    async def send_raw(
        self,
        value: bytes,
        *,
        key: str | None = None,
        topic: str | None = None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        """Publish bytes as they are, proven as this client's caller to the orchestrator;
        `headers` are added (a `traceparent` or a proof of the caller's own is sent as
        given, else this process's trace context, if any, and its proof). The proof covers
        the topic, the key, the value and the `ce_*` headers."""
        topic = topic or self.settings.requests_topic
        key_bytes = key.encode() if key else None
        given = {name.lower() for name, _ in headers}
        proof = (
            []
            if PROOF_HEADER in given
            else self.party.prove(topic, key_bytes, value, to=self._orchestrator, headers=headers)
        )
        with producing(topic, key) as trace_headers:
            if TRACEPARENT in given:
                trace_headers = {}
            await self._producer.send_and_wait(
                topic,
                value,
                key=key_bytes,
                headers=[
                    ("content-type", CONTENT_TYPE.encode()),
                    *headers,
                    *proof,
                    *headers_of(trace_headers),
                ],
            )

    async def _read_responses(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    self._deliver(record.key, record.value, record.headers)

    def _deliver(
        self, key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes]]
    ) -> None:
        try:
            self.party.check(self.responses_topic, key, value, headers, roles=("orchestrator",))
        except Unproven as exc:
            logger.warning("response skipped: not proven by the orchestrator: %s", exc.reason)
            return
        try:
            response = decode(
                value or b"", (RequestCompleted,), max_bytes=self.settings.max_event_bytes * 16
            )
        except ContractError as exc:
            logger.warning("unreadable response skipped: %s", exc.message)
            return
        cause = self._causes.get(response.requestid)
        if cause is not None and response.causationid not in (None, cause):
            logger.warning(
                "response to %s skipped: it answers another request event (%s, not %s)",
                response.requestid,
                response.causationid,
                cause,
            )
            return
        future = self._waiting.pop(response.requestid, None)
        self._causes.pop(response.requestid, None)
        if future is not None and not future.done():
            future.set_result(response)
