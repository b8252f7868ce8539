"""Producers as they come: a request in either CloudEvents Kafka content mode is answered.

The producer here is what another stack would run: librdkafka (confluent-kafka)
and the exported JSON Schema of a request (`libs/schemas/contract/`); of slmesh's
own only the proof of its caller (`prove_as`: the two headers a caller's own
code computes with its key). It sends one request in the structured mode (the
whole event as the record value) and one in the binary mode (`ce_*` headers,
the value only the data), each naming its caller's own response topic, and
reads both answers there with a librdkafka consumer.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import confluent_kafka
import jsonschema
import orjson
import pytest

from slmesh.runtime.kafka.deadletters import read_dead_letters, requeue
from slmesh.runtime.kafka.publishing import DLQ_ERROR, DLQ_ERROR_CODE
from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.trust import response_topic
from tests.support.binary_mode import Headers, binary_mode
from tests.support.identities import DEV_CALLER
from tests.support.kit import (
    WAIT_S,
    Sent,
    TopicTap,
    assert_dead_letter,
    dead_letter_of,
    prove_as,
)

CONTRACT = Path(__file__).parents[2] / "libs" / "schemas" / "contract"
REQUEST_SCHEMA: dict[str, Any] = orjson.loads(
    (CONTRACT / "RequestSubmitted.v1.schema.json").read_bytes()
)
RESPONSE_SCHEMA: dict[str, Any] = orjson.loads(
    (CONTRACT / "RequestCompleted.v1.schema.json").read_bytes()
)
STRUCTURED = "application/cloudevents+json; charset=UTF-8"
# Planned by rules and answered by the vat-rates table: no model, the same answer every time.
QUESTION = "What are the VAT rates in Germany?"
GERMANY = "Germany (DE): standard 19%"


# --- the producer's side: the schema file and a Kafka client ---------------------------


def request_event(reply_topic: str, **data: Any) -> dict[str, Any]:
    """A request as a producer writes it from the schema file: its constants, its fields."""
    attributes = REQUEST_SCHEMA["properties"]
    event = {
        "specversion": attributes["specversion"]["const"],
        "id": f"evt-{uuid.uuid4().hex}",
        "source": "/it/librdkafka-producer",
        "type": attributes["type"]["const"],
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "dataschema": attributes["dataschema"]["const"],
        "requestid": f"it-binary-{uuid.uuid4().hex}",
        # A generous budget: the machine may be busy; the answer needs no model.
        "data": {"input": QUESTION, "reply_topic": reply_topic, "timeout_ms": 30_000, **data},
    }
    jsonschema.validate(event, REQUEST_SCHEMA)
    return event


def structured(event: dict[str, Any]) -> tuple[bytes, Headers]:
    """The structured content mode: the whole event is the value."""
    return orjson.dumps(event), [("content-type", STRUCTURED.encode())]


class Producer:
    def __init__(self, bootstrap_servers: str) -> None:
        self._producer = confluent_kafka.Producer(
            {
                "bootstrap.servers": bootstrap_servers,
                # Tansu, the dev broker, has no idempotent producer.
                "enable.idempotence": False,
                "acks": "all",
                "linger.ms": 0,
            }
        )

    async def send(
        self, topic: str, value: bytes, headers: Headers, *, key: str, partition: int = -1
    ) -> Sent:
        """The record, proven as the dev caller's (its `ce_*` headers with it)."""
        reports: list[tuple[Any, Any]] = []
        self._producer.produce(
            topic,
            value=value,
            key=key.encode(),
            headers=[
                (name, raw)
                for name, raw in prove_as(DEV_CALLER, topic, value, key=key, headers=headers)
            ],
            partition=partition,
            on_delivery=lambda err, msg: reports.append((err, msg)),
        )
        # librdkafka blocks: off the event loop, where the suite's taps read.
        left = await asyncio.to_thread(self._producer.flush, WAIT_S)
        assert left == 0, "the record was not delivered"
        [(error, message)] = reports
        assert error is None, error
        return Sent(message.topic(), message.partition(), message.offset())


class Answers:
    """The records of a reply topic of the test's own, read by a librdkafka consumer."""

    def __init__(self, bootstrap_servers: str, topic: str) -> None:
        self.topic = topic
        self._consumer = confluent_kafka.Consumer(
            {
                "bootstrap.servers": bootstrap_servers,
                # Assigned partitions, never subscribed: the group is never joined.
                "group.id": f"it-binary-mode-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                # Tansu answers a fetch only when its wait is over.
                "fetch.wait.max.ms": 10,
            }
        )
        self.by_request: dict[str, list[tuple[dict[str, str], dict[str, Any]]]] = {}

    async def start(self) -> None:
        metadata = await asyncio.to_thread(self._consumer.list_topics, self.topic, WAIT_S)
        partitions = sorted(metadata.topics[self.topic].partitions)
        assert partitions, f"{self.topic} has no partitions"
        self._consumer.assign(
            [
                confluent_kafka.TopicPartition(self.topic, p, confluent_kafka.OFFSET_BEGINNING)
                for p in partitions
            ]
        )

    def close(self) -> None:
        self._consumer.close()

    async def of(self, *request_ids: str, quiet_s: float = 0.0) -> dict[str, dict[str, Any]]:
        """The one answer to each request, by request id; then `quiet_s` more of listening."""
        deadline = time.monotonic() + WAIT_S
        while not all(rid in self.by_request for rid in request_ids):
            assert time.monotonic() < deadline, (
                f"no answer on {self.topic} to "
                f"{[r for r in request_ids if r not in self.by_request]} within {WAIT_S:g}s"
            )
            await self._poll(0.2)
        end = time.monotonic() + quiet_s
        while time.monotonic() < end:
            await self._poll(0.2)
        found = {}
        for rid in request_ids:
            [(headers, response)] = self.by_request[rid]
            # The mesh answers in the structured mode, whatever the request's mode.
            assert headers["content-type"].startswith("application/cloudevents+json")
            found[rid] = response
        return found

    async def _poll(self, timeout_s: float) -> None:
        message = await asyncio.to_thread(self._consumer.poll, timeout_s)
        if message is None:
            return
        assert message.error() is None, message.error()
        listed = message.headers() or []
        assert isinstance(listed, list)
        headers = {k: v.decode() if isinstance(v, bytes) else v or "" for k, v in listed}
        response = orjson.loads(message.value() or b"")
        self.by_request.setdefault(response["requestid"], []).append((headers, response))


@pytest.fixture
def reply_topic(settings: MeshSettings) -> str:
    """The dev caller's own response topic: the only one its requests may name."""
    return response_topic(settings.responses_topic, DEV_CALLER)


@pytest.fixture
def producer(settings: MeshSettings) -> Producer:
    return Producer(settings.bootstrap_servers)


@pytest.fixture
async def answers(settings: MeshSettings, reply_topic: str) -> AsyncIterator[Answers]:
    reader = Answers(settings.bootstrap_servers, reply_topic)
    await reader.start()
    yield reader
    await asyncio.to_thread(reader.close)


def assert_answered(response: dict[str, Any], request: dict[str, Any]) -> None:
    jsonschema.validate(response, RESPONSE_SCHEMA)
    assert response["type"] == "slmesh.RequestCompleted"
    assert response["requestid"] == request["requestid"]
    assert response["causationid"] == request["id"]
    data = response["data"]
    assert data["status"] == "ok", data["answer"]
    assert GERMANY in data["answer"]
    assert data["metadata"] == request["data"].get("metadata", {})


# --- the tests ----------------------------------------------------------------------------


async def test_a_request_in_either_content_mode_is_answered_on_its_reply_topic(
    settings: MeshSettings, producer: Producer, answers: Answers, reply_topic: str
) -> None:
    sent = {
        "structured": request_event(reply_topic, metadata={"mode": "structured"}),
        "binary": request_event(reply_topic, metadata={"mode": "binary"}),
    }
    for mode, event in sent.items():
        value, headers = structured(event) if mode == "structured" else binary_mode(event)
        await producer.send(settings.requests_topic, value, headers, key=event["requestid"])

    # Each answered once, completed, on the reply topic its request named.
    found = await answers.of(*(e["requestid"] for e in sent.values()), quiet_s=1.5)
    for event in sent.values():
        assert_answered(found[event["requestid"]], event)


@pytest.mark.parametrize(
    ("attribute", "given", "code", "reason"),
    [
        (
            "specversion",
            "0.3",
            "unsupported_schema_version",
            "specversion '0.3' is not supported; use '1.0'",
        ),
        ("id", None, "invalid_event", "RequestSubmitted is invalid: id: Field required"),
    ],
    ids=["wrong-ce_specversion", "no-ce_id"],
)
async def test_a_binary_request_with_a_given_is_dead_lettered_and_the_next_is_answered(
    attribute: str,
    given: str | None,
    code: str,
    reason: str,
    settings: MeshSettings,
    producer: Producer,
    answers: Answers,
    reply_topic: str,
    deadletters: TopicTap,
    responses: TopicTap,
) -> None:
    bad = request_event(reply_topic, metadata={"case": uuid.uuid4().hex})
    if given is None:
        del bad[attribute]
    else:
        bad[attribute] = given
    bad_value, headers = binary_mode(bad)
    sent = await producer.send(settings.requests_topic, bad_value, headers, key=bad["requestid"])

    dead = await dead_letter_of(deadletters, bad_value)
    assert_dead_letter(dead, sent, code=code, service="orchestrator")
    assert reason in dead.header(DLQ_ERROR)
    # The dead letter is the whole event: its attributes came with its data.
    assert dead.header("ce_requestid") == bad["requestid"]
    assert dead.key_text == bad["requestid"]
    # Its id is readable (a header): the caller is told, on its own topic, as for a
    # rejected structured request.
    [record] = await responses.wait_for(lambda r: r.key_text == bad["requestid"])
    failed = orjson.loads(record.value)
    assert failed["data"]["status"] == "failed"
    assert failed["data"]["error"]["code"] == code
    assert reason in failed["data"]["error"]["message"]

    # The consumer moved on: the next request on the same partition is answered.
    good = request_event(reply_topic)
    value, headers = binary_mode(good)
    await producer.send(
        settings.requests_topic, value, headers, key=good["requestid"], partition=sent.partition
    )
    found = await answers.of(good["requestid"])
    assert_answered(found[good["requestid"]], good)

    # Requeued, it goes back as it came, its attributes and its caller's proof with it
    # (a dead letter keeps them): refused again for what it says, not for who sent it.
    letters = [d for d in await read_dead_letters(settings) if d.value == bad_value]
    [(_, topic)] = await requeue(settings, letters)
    assert topic == settings.requests_topic
    _, again = await deadletters.wait_for(lambda r: r.value == bad_value, count=2)
    assert again.header(DLQ_ERROR_CODE) == code
    assert again.header("ce_requestid") == bad["requestid"]
