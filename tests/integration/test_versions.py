"""Two versions of a micromodel side by side on the real broker: each on its own task
topic and consumer group, both in the registry, a pinned call going to the version it
names, unpinned calls split between the default and a canary by the operator's weight,
and each call naming the version it went to.

`echo` 0.1.0 runs on the plain topic; `echo` 0.2.0 (SLMESH_VERSION) beside it on
slmesh.tasks.echo.v0.2.0. The orchestrator of this module's own mesh splits echo's
calls half and half (SLMESH_VERSIONS).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest

from slmesh.cli.commands.registry.replicas import format_registry, registry_view
from slmesh.cli.devstack import DevStack, RedisHandle
from slmesh.runtime.client import MeshClient
from slmesh.runtime.kafka import ensure_topics
from slmesh.schemas import RequestCompleted, encode
from tests.support.kit import (
    ECHO_SERVICE,
    WAIT_S,
    RawProducer,
    TopicTap,
    assert_dead_letter,
    dead_letter_of,
    settle,
    task_for,
)
from tests.support.mesh import logged_mesh, own_micromodel
from tests.support.proofs import task_headers

SPLIT = {"echo": {"default": "0.1.0", "canary": "0.2.0", "canary_weight": 0.5}}
CANARY_TOPIC = "slmesh.tasks.echo.v0.2.0"


@pytest.fixture(scope="module")
async def versions_mesh(
    redis_server: RedisHandle, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[DevStack]:
    async with logged_mesh(
        tmp_path_factory,
        "versions",
        redis_server,
        micromodels={},
        orchestrator_replicas=1,
        env={"SLMESH_VERSIONS": orjson.dumps(SPLIT).decode()},
    ) as stack:
        settings = stack.settings()
        # Made as an operator makes them before starting a version (`slmesh topics apply`).
        await ensure_topics(settings, [settings.task_topic("echo"), CANARY_TOPIC])
        async with (
            own_micromodel(stack, ECHO_SERVICE, "echo-1", SLMESH_HEARTBEAT_S="1"),
            own_micromodel(
                stack, ECHO_SERVICE, "echo-v2-1", SLMESH_VERSION="0.2.0", SLMESH_HEARTBEAT_S="1"
            ),
        ):
            yield stack


@pytest.fixture(scope="module")
async def client(versions_mesh: DevStack) -> AsyncIterator[MeshClient]:
    async with MeshClient(versions_mesh.settings(), source="/slmesh/versions-test") as mesh:
        # Callable once the orchestrator has read both versions' cards.
        async with asyncio.timeout(WAIT_S):
            while True:
                answers = await asyncio.gather(
                    *(echo(mesh, "warm", version=v) for v in ("0.1.0", "0.2.0"))
                )
                if all(a.data.status == "ok" for a in answers):
                    break
                await asyncio.sleep(0.5)
        yield mesh


async def echo(
    mesh: MeshClient, text: str, *, version: str | None = None, n: int = 1
) -> RequestCompleted:
    call = {"micromodel": "echo", "arguments": {"text": text}}
    if version is not None:
        call["version"] = version
    return await mesh.ask(text, timeout_s=WAIT_S, timeout_ms=20_000, calls=[call] * n)


async def test_a_pinned_call_goes_to_its_version_on_its_own_topic(
    client: MeshClient, versions_mesh: DevStack
) -> None:
    tap = TopicTap(versions_mesh.settings(), CANARY_TOPIC)
    await tap.start()
    try:
        answer = await echo(client, "pinned", version="0.2.0", n=4)
        assert answer.data.status == "ok", answer.data.answer
        assert [c.version for c in answer.data.calls] == ["0.2.0"] * 4
        assert all(c.output == {"text": "PINNED"} for c in answer.data.calls)
        ids = {c.task_id for c in answer.data.calls}
        # Every task went to the canary's own topic, none elsewhere.
        await tap.wait_for(lambda r: r.key_text in ids, timeout=WAIT_S, count=4)
    finally:
        await tap.stop()
    old = await echo(client, "old", version="0.1.0")
    assert [c.version for c in old.data.calls] == ["0.1.0"]


async def test_a_request_pins_a_micromodel_for_all_of_its_calls(client: MeshClient) -> None:
    call = {"micromodel": "echo", "arguments": {"text": "all"}}
    answer = await client.ask(
        "all", timeout_s=WAIT_S, timeout_ms=20_000, calls=[call] * 3, versions={"echo": "0.2.0"}
    )
    assert [c.version for c in answer.data.calls] == ["0.2.0"] * 3


async def test_unpinned_calls_are_split_by_the_canary_weight(client: MeshClient) -> None:
    answer = await echo(client, "split", n=40)
    assert answer.data.status == "ok", answer.data.answer
    versions = [c.version for c in answer.data.calls]
    # Half and half by the task ids' shares: both versions answer a fair part.
    assert 8 <= versions.count("0.2.0") <= 32, versions
    assert versions.count("0.1.0") + versions.count("0.2.0") == 40


async def test_a_version_not_serving_fails_its_call_and_the_next_request_is_served(
    client: MeshClient,
) -> None:
    answer = await echo(client, "nowhere", version="9.9.9")
    [call] = answer.data.calls
    assert call.status == "failed"
    assert call.error is not None
    assert call.error.code == "unknown_micromodel"
    assert "version 9.9.9 of micromodel 'echo' is not serving (serving: 0.1.0, 0.2.0)" in (
        call.error.message
    )
    again = await echo(client, "again")
    assert again.data.status == "ok"


async def test_the_registry_shows_both_versions(versions_mesh: DevStack) -> None:
    view = await registry_view(versions_mesh.settings())
    lines = format_registry(view.replicas).splitlines()
    assert any(line.split()[:3] == ["echo", "0.1.0", "1"] for line in lines), lines
    assert any(line.split()[:3] == ["echo", "0.2.0", "1"] for line in lines), lines


async def test_a_task_redirected_onto_a_versions_topic_is_refused_and_the_next_is_served(
    client: MeshClient, versions_mesh: DevStack
) -> None:
    """A task the orchestrator proved for echo's plain topic, put on the canary's own
    topic: its proof covers the topic it was written for, so the canary dead-letters it
    and answers nothing; a pinned call to the canary is answered after it."""
    settings = versions_mesh.settings()
    task = task_for("echo", {"text": "redirected"}, settings.replies_topic)
    value = encode(task)
    proof = task_headers(settings, "echo", task.data.task_id, value)
    raw = RawProducer(settings)
    deadletters = TopicTap(settings, settings.deadletter_topic)
    replies = TopicTap(settings, settings.replies_topic)
    await raw.start()
    await deadletters.start()
    await replies.start()
    try:
        sent = await raw.send(CANARY_TOPIC, value, key=task.data.task_id, headers=proof)
        dead = await dead_letter_of(deadletters, value)
        assert_dead_letter(dead, sent, code="unauthenticated_task", service="echo")
        await settle(replies)
        assert replies.matching(lambda r: r.key_text == task.requestid) == []
        after = await echo(client, "after", version="0.2.0")
        assert after.data.status == "ok"
        assert [c.version for c in after.data.calls] == ["0.2.0"]
    finally:
        await replies.stop()
        await deadletters.stop()
        await raw.stop()
