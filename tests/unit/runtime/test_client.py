"""The mesh client as a caller: it proves its requests, and believes only its own answers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from slmesh.runtime.client import MeshClient
from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.trust import MeshParty, response_topic
from slmesh.schemas import RequestCompleted, encode
from tests.support.identities import DEV_CALLER, OTHER_CALLER
from tests.support.kit import ORCHESTRATOR, prove_as
from tests.support.proofs import party


def answer(request_id: str, cause: str, text: str = "answered") -> bytes:
    return encode(
        RequestCompleted.create(
            data={"status": "ok", "answer": text, "planner": "rules", "elapsed_ms": 1.0},
            source="/slmesh/orchestrator/orchestrator-1",
            request_id=request_id,
            causation_id=cause,
        )
    )


@contextlib.asynccontextmanager
async def client_of(caller: str) -> AsyncIterator[MeshClient]:
    """A client of `caller`, never started: its clients are closed all the same."""
    client = MeshClient(MeshSettings(), party=party(caller))
    try:
        yield client
    finally:
        await client.stop()


async def test_a_client_reads_its_callers_own_topic() -> None:
    async with client_of(DEV_CALLER) as ours, client_of(OTHER_CALLER) as theirs:
        assert ours.responses_topic == response_topic("slmesh.responses", DEV_CALLER)
        assert theirs.responses_topic == "slmesh.responses.other"


async def test_a_client_takes_only_answers_the_orchestrator_proved_to_it() -> None:
    async with client_of(DEV_CALLER) as client:
        takes_only_its_own(client)


def takes_only_its_own(client: MeshClient) -> None:
    topic = client.responses_topic
    future = client.expect("req-1", event_id="evt-1")
    value = answer("req-1", "evt-1")
    forged = [
        [],  # no proof at all
        prove_as(OTHER_CALLER, topic, value, key="req-1", to=DEV_CALLER),
        # The orchestrator's, but for another caller: copied from its topic.
        prove_as(ORCHESTRATOR, topic, value, key="req-1", to=OTHER_CALLER),
        # The orchestrator's, for dev, but for another topic.
        prove_as(ORCHESTRATOR, "slmesh.responses.other", value, key="req-1", to=DEV_CALLER),
    ]
    for headers in forged:
        client._deliver(b"req-1", value, headers)
        assert not future.done()
    # A true answer to an older request event under the same id: not this request's.
    old = answer("req-1", "evt-0", "old")
    client._deliver(b"req-1", old, prove_as(ORCHESTRATOR, topic, old, key="req-1", to=DEV_CALLER))
    assert not future.done()

    client._deliver(
        b"req-1", value, prove_as(ORCHESTRATOR, topic, value, key="req-1", to=DEV_CALLER)
    )
    assert future.done()
    assert future.result().data.answer == "answered"


async def test_a_clients_requests_are_proven_to_the_orchestrator() -> None:
    async with client_of(DEV_CALLER) as client:
        await proves_its_requests(client)


async def proves_its_requests(client: MeshClient) -> None:
    sent: list[tuple[str, bytes, bytes | None, list[tuple[str, bytes]]]] = []

    async def send_and_wait(
        topic: str, value: bytes, *, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        sent.append((topic, value, key, headers))

    client._producer.send_and_wait = send_and_wait
    await client.send_raw(b"{}", key="req-2", headers=[("ce_requestid", b"req-2")])
    [(topic, value, key, headers)] = sent
    orchestrator: MeshParty = party(ORCHESTRATOR)
    proven = orchestrator.check(topic, key, value, headers, roles=("caller",))
    assert proven.name == DEV_CALLER


async def test_a_proof_given_is_sent_as_given() -> None:
    """A sender that brings its own proof (a test playing the orchestrator) keeps it alone."""
    async with client_of(DEV_CALLER) as client:
        sent: list[list[tuple[str, bytes]]] = []

        async def send_and_wait(
            topic: str, value: bytes, *, key: bytes | None, headers: list[tuple[str, bytes]]
        ) -> None:
            sent.append(headers)

        client._producer.send_and_wait = send_and_wait
        topic = "slmesh.tasks.vat-rates"
        own = prove_as(ORCHESTRATOR, topic, b"{}", key="t-1", to="vat-rates", headers=[])
        await client.send_raw(b"{}", key="t-1", topic=topic, headers=own)
        [headers] = sent
        assert [v for k, v in headers if k == "slmesh-signer"] == [ORCHESTRATOR.encode()]
