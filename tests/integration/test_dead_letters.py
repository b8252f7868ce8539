"""`slmesh dlq`: dead letters listed with why, shown, and requeued to where they came from,
when that is a topic the mesh consumes; never where a crafted letter says."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

from slmesh.cli.records import Seen, read_to_end
from slmesh.runtime.kafka import ensure_topics
from slmesh.runtime.kafka.deadletters import REQUEUED_FROM, read_dead_letters, requeue
from slmesh.runtime.kafka.publishing import DLQ_ERROR, DLQ_ERROR_CODE, DLQ_SERVICE, DLQ_TOPIC
from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.trust import PROOF_HEADER, SIGNER_HEADER
from tests.support.identities import DEV_CALLER
from tests.support.kit import GHOST, RawProducer, TopicTap

SLMESH = str(Path(sys.executable).parent / "slmesh")


async def dlq(settings: MeshSettings, *args: str) -> tuple[int, str, str]:
    """`slmesh dlq ARGS` with no terminal: exit code, standard output, standard error."""
    cli = await asyncio.create_subprocess_exec(
        SLMESH,
        "dlq",
        *args,
        env={**os.environ, "SLMESH_BOOTSTRAP_SERVERS": settings.bootstrap_servers},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(cli.communicate(), 60)
    assert cli.returncode is not None
    return cli.returncode, out.decode(), err.decode()


async def craft_dead_letter(
    raw: RawProducer, settings: MeshSettings, code: str, origin: str, key: str
) -> None:
    """A dead letter as anyone who may write the dead-letter topic can write one: naming
    `origin` as where its record came from, with a proof of origin to keep."""
    await raw.send(
        settings.deadletter_topic,
        b'{"crafted": "' + key.encode() + b'"}',
        key=key,
        headers=[
            ("content-type", b"application/json"),
            ("ce_specversion", b"1.0"),
            ("ce_id", key.encode()),
            (SIGNER_HEADER, b"dev"),
            (PROOF_HEADER, b"mac:" + key.encode()),
            (DLQ_TOPIC, origin.encode()),
            (DLQ_ERROR_CODE, code.encode()),
            (DLQ_ERROR, b"crafted by a test"),
            (DLQ_SERVICE, b"orchestrator"),
        ],
    )


async def records_keyed(settings: MeshSettings, topic: str, key: str) -> list[Seen]:
    return [s async for s in read_to_end(settings, [topic]) if s.key == key]


async def test_a_dead_letter_is_listed_shown_and_requeued(
    raw: RawProducer, settings: MeshSettings, deadletters: TopicTap
) -> None:
    value = b"not an event " + uuid.uuid4().hex.encode()
    # Proven by its caller: refused for what it is, not for whose.
    sent = await raw.send(settings.requests_topic, value, proven_as=DEV_CALLER)
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


async def test_requeue_all_writes_only_to_mesh_topics_never_where_a_crafted_letter_says(
    raw: RawProducer, settings: MeshSettings
) -> None:
    code = f"crafted-{uuid.uuid4().hex[:8]}"
    key = f"it-dlq-{uuid.uuid4().hex[:8]}"
    # Topics a requeue could write to, were it to believe the header: they exist.
    response_topic = f"{settings.responses_topic}.someone-{key[-8:]}"
    foreign = f"erp.inbox.{key[-8:]}"
    await ensure_topics(settings, [response_topic, foreign])
    task_topic = settings.task_topic(GHOST)
    for origin in (response_topic, foreign, settings.registry_topic, task_topic):
        # Written with acks=all: on the topic for the command to read.
        await craft_dead_letter(raw, settings, code, origin, key)

    exit_code, out, err = await dlq(settings, "requeue", "--all", "--code", code, "--yes")
    assert exit_code == 9, out + err
    lines = out.splitlines()
    skipped = [ln for ln in lines if ln.startswith("skipped ")]
    assert len(skipped) == 3, out
    assert any(f"(to {response_topic!r}): it names a response topic" in ln for ln in skipped)
    assert any(f"(to {foreign!r}): it names no mesh topic" in ln for ln in skipped)
    assert any("it names the registry" in ln for ln in skipped)
    [requeued] = [ln for ln in lines if ln.startswith("requeued ")]
    assert requeued.endswith(f" to {task_topic}")
    assert "skipped 3 of 4 dead letters" in err

    assert await records_keyed(settings, response_topic, key) == []
    assert await records_keyed(settings, foreign, key) == []
    assert await records_keyed(settings, settings.registry_topic, key) == []
    # The legit one is back on its topic: key, value and the record's own headers (its
    # proof of origin among them) as they were, the dead letter's own headers gone.
    [back] = await records_keyed(settings, task_topic, key)
    assert back.value == b'{"crafted": "' + key.encode() + b'"}'
    assert back.headers[SIGNER_HEADER] == "dev"
    assert back.headers[PROOF_HEADER] == f"mac:{key}"
    assert (back.headers["ce_specversion"], back.headers["ce_id"]) == ("1.0", key)
    assert back.headers["content-type"] == "application/json"
    assert back.headers[REQUEUED_FROM].startswith(f"{settings.deadletter_topic}:")
    assert not {DLQ_TOPIC, DLQ_ERROR_CODE, DLQ_ERROR, DLQ_SERVICE} & set(back.headers)


async def test_requeue_all_without_yes_and_without_a_terminal_refuses_and_writes_nothing(
    raw: RawProducer, settings: MeshSettings
) -> None:
    code = f"crafted-{uuid.uuid4().hex[:8]}"
    key = f"it-dlq-{uuid.uuid4().hex[:8]}"
    task_topic = settings.task_topic(GHOST)
    await craft_dead_letter(raw, settings, code, task_topic, key)

    exit_code, out, err = await dlq(settings, "requeue", "--all", "--code", code)
    assert exit_code == 2, out + err
    assert "pass --yes" in err
    assert "Nothing was requeued" in err
    assert f"1 dead letters to {task_topic} (1)" in err
    assert await records_keyed(settings, task_topic, key) == []
