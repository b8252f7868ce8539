"""`slmesh dlq`: dead letters listed with why, shown, and requeued to where they came from."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

from slmesh.runtime.kafka.deadletters import read_dead_letters, requeue
from slmesh.runtime.settings import MeshSettings
from tests.support.kit import RawProducer, TopicTap


async def test_a_dead_letter_is_listed_shown_and_requeued(
    raw: RawProducer, settings: MeshSettings, deadletters: TopicTap
) -> None:
    value = b"not an event " + uuid.uuid4().hex.encode()
    sent = await raw.send(settings.requests_topic, value)
    [first] = await deadletters.wait_for(lambda r: r.value == value)

    letters = [d for d in await read_dead_letters(settings) if d.value == value]
    assert len(letters) == 1
    letter = letters[0]
    assert letter.code == "malformed_event"
    assert letter.service == "orchestrator"
    assert letter.original_topic == settings.requests_topic
    assert letter.id == f"{first.partition}:{first.offset}"

    # The CLI shows it by id, with its headers and body.
    env = {
        **os.environ,
        "SLMESH_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "SLMESH_BROKER_PROFILE": "tansu",
    }
    cli = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "slmesh"),
        "dlq",
        "show",
        letter.id,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(cli.communicate(), 60)
    assert cli.returncode == 0, out.decode()
    assert "malformed_event" in out.decode()
    assert value.decode() in out.decode()
    assert f"slmesh-original-partition: {sent.partition}" in out.decode()

    # Requeued: the same bytes go back to the requests topic, and — still not an
    # event — come back as a second dead letter.
    [(done, topic)] = await requeue(settings, [letter])
    assert topic == settings.requests_topic
    first_again, second = await deadletters.wait_for(lambda r: r.value == value, count=2)
    assert done is letter
    assert first_again == first
    # A new delivery on the requests topic, not the original record again.
    where = (second.header("slmesh-original-partition"), second.header("slmesh-original-offset"))
    assert where != (str(sent.partition), str(sent.offset))
    assert second.headers["slmesh-error-code"] == b"malformed_event"
