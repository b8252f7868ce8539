"""`slmesh topics` as a user runs it, against the suite's running mesh."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import orjson
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from slmesh.cli.commands.replay.republishing import REPLAY, REPLAY_OF, REPLAY_SOURCE
from slmesh.cli.devstack import free_port
from slmesh.cli.records import Seen, read_to_end
from slmesh.runtime.client import MeshClient
from slmesh.runtime.kafka import admin_kwargs, ensure_topics, list_topics, micromodel_group
from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.trust import (
    PROOF_HEADER,
    SIGNER_HEADER,
    MeshParty,
    key_path,
    keyring_of,
    mesh_party,
    response_topic,
)
from slmesh.schemas import CONTENT_TYPE, encode
from tests.support.identities import DEV_CALLER
from tests.support.kit import RawProducer, mesh_id


async def run_slmesh(
    bootstrap_servers: str, *args: str, env: dict[str, str] | None = None
) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "slmesh"),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "SLMESH_BOOTSTRAP_SERVERS": bootstrap_servers, **(env or {})},
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


def row_of(out: str, topic: str) -> list[str]:
    for line in out.splitlines():
        fields = line.split()
        if fields and fields[0] == topic:
            return fields
    raise AssertionError(f"{topic} not listed:\n{out}")


async def test_topics_lists_the_mesh_topics_with_partitions_and_records(
    settings: MeshSettings, mesh: MeshClient
) -> None:
    response = await mesh.ask("VAT rates in Germany?", timeout_s=60)
    assert response.data.status == "ok"
    code, out = await run_slmesh(settings.bootstrap_servers, "topics")
    assert code == 0, out
    requests = row_of(out, settings.requests_topic)
    partitions, records, ends = int(requests[1]), int(requests[2]), requests[3:]
    assert partitions == settings.partitions == len(ends)
    # At least the request just answered; the end offsets sum to what is held.
    assert records >= 1
    assert sum(int(e) for e in ends) >= records
    assert int(row_of(out, settings.task_topic("vat-rates"))[2]) >= 1
    # Only the mesh's own topics, unless asked for all.
    assert all(line.split()[0].startswith("slmesh.") for line in out.splitlines()[1:])


async def test_topics_without_a_broker_says_so() -> None:
    code, out = await run_slmesh(f"127.0.0.1:{free_port()}", "topics")
    assert code == 4, out
    assert "slmesh dev" in out
    assert "Traceback" not in out


async def test_topics_apply_on_a_broker_without_acls_says_so_and_creates_nothing(
    settings: MeshSettings, mesh: MeshClient
) -> None:
    # The embedded broker lists the ACL requests but cannot create one.
    probe = f"acl-probe-{uuid.uuid4().hex[:6]}"
    code, out = await run_slmesh(
        settings.bootstrap_servers, "topics", "apply", "--micromodel", probe
    )
    assert code == 1, out
    assert "does not support ACLs" in out
    assert "--skip-acls" in out
    assert "Traceback" not in out
    assert settings.task_topic(probe) not in await list_topics(settings)


# --- tail, trace, lag, registry ------------------------------------------------------------


async def test_trace_shows_a_fan_out_from_the_topics_alone(
    settings: MeshSettings, mesh: MeshClient
) -> None:
    response = await mesh.ask("What are the VAT rates in Germany, France and Italy?", timeout_s=60)
    assert response.data.status == "ok"
    rid = response.requestid
    code, out = await run_slmesh(settings.bootstrap_servers, "trace", rid)
    assert code == 0, out
    assert f"request {rid}: ok" in out
    for n, country in enumerate(("DE", "FR", "IT"), start=1):
        [line] = [ln for ln in out.splitlines() if ln.startswith(f"#{n} vat-rates(")]
        assert f"country={country}" in line
        assert "ok, deterministic" in line
    assert "response published" in out
    assert "request → first task" in out
    code, out = await run_slmesh(settings.bootstrap_servers, "trace", rid, "--json")
    assert code == 0, out
    tree = orjson.loads(out)
    assert [c["status"] for c in tree["calls"]] == ["ok", "ok", "ok"]
    assert tree["response"]["status"] == "ok"


async def test_trace_of_an_unknown_request_or_without_a_broker_says_so(
    settings: MeshSettings,
) -> None:
    code, out = await run_slmesh(settings.bootstrap_servers, "trace", "req-never-sent-0001")
    assert code == 6, out
    assert "no record of request req-never-sent-0001" in out
    code, out = await run_slmesh(f"127.0.0.1:{free_port()}", "trace", "req-x")
    assert code == 4, out


async def test_tail_prints_a_requests_records_filtered_and_as_json(
    settings: MeshSettings, mesh: MeshClient, raw: RawProducer
) -> None:
    response = await mesh.ask("VAT rates in Austria?", timeout_s=60)
    rid = response.requestid
    # Garbage on the requests topic, under this test's own key: shown, never a crash.
    await raw.send(settings.requests_topic, b"\xff\xfe not an event", key=rid)
    code, out = await run_slmesh(
        settings.bootstrap_servers,
        "tail",
        "requests",
        "--from-beginning",
        "--request-id",
        rid,
        "--timeout",
        "3",
    )
    assert code == 0, out
    lines = out.splitlines()
    assert len(lines) == 2, out
    assert "RequestSubmitted" in lines[0]
    assert "VAT rates in Austria?" in lines[0]
    assert "(not JSON:" in lines[1]
    code, out = await run_slmesh(
        settings.bootstrap_servers,
        "tail",
        settings.replies_topic,
        "--from-beginning",
        "--request-id",
        rid,
        "--type",
        "TaskCompleted",
        "--max",
        "1",
        "--json",
    )
    assert code == 0, out
    [line] = out.splitlines()
    record = orjson.loads(line)
    assert record["topic"] == settings.replies_topic
    assert record["value"]["type"] == "slmesh.TaskCompleted"
    assert record["value"]["data"]["output"]["rates"][0]["country"] == "AT"


async def test_lag_and_registry_show_the_running_mesh(settings: MeshSettings) -> None:
    code, out = await run_slmesh(settings.bootstrap_servers, "lag")
    assert code == 0, out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    vat = rows["slmesh.micromodel.vat-rates"]
    assert vat[1] == settings.task_topic("vat-rates")
    committed, end, lag = int(vat[2]), int(vat[3]), int(vat[4])
    assert end >= committed >= 1
    assert lag == end - committed
    assert vat[-1] == "vat-rates"
    assert "slmesh.orchestrator.requests" in rows

    code, out = await run_slmesh(settings.bootstrap_servers, "registry")
    assert code == 0, out
    [summary] = [ln for ln in out.splitlines() if ln.startswith("vat-rates ")]
    assert summary.split()[1:4] == ["0.1.0", "1", "deterministic"]
    [replica] = [ln for ln in out.splitlines() if ln.strip().startswith("vat-rates-1")]
    assert replica.split()[1] == "live"

    for command in ("lag", "registry", "tail"):
        args = [command, "requests", "--timeout", "1"] if command == "tail" else [command]
        code, out = await run_slmesh(f"127.0.0.1:{free_port()}", *args)
        assert code == 4, (command, out)


# --- replay ----------------------------------------------------------------------------------


async def test_replay_dry_run_selects_a_requests_records_by_id_and_type(
    settings: MeshSettings, mesh: MeshClient
) -> None:
    response = await mesh.ask("VAT rates in Belgium?", timeout_s=60)
    rid = response.requestid
    code, out = await run_slmesh(
        settings.bootstrap_servers, "replay", "--all", "--request-id", rid, "--dry-run"
    )
    assert code == 0, out
    records = [orjson.loads(line) for line in out.splitlines()]
    assert {r["topic"] for r in records} >= {
        settings.requests_topic,
        settings.task_topic("vat-rates"),
        settings.replies_topic,
        response_topic(settings.responses_topic, DEV_CALLER),
    }
    # The request and its response carry the caller's own id; its task and reply the mesh's.
    assert all(r["value"]["requestid"] in (rid, mesh_id(rid)) for r in records)
    code, out = await run_slmesh(
        settings.bootstrap_servers,
        "replay",
        "--all",
        "--request-id",
        rid,
        "--type",
        "TaskCompleted",
        "--micromodel",
        "vat-rates",
        "--dry-run",
    )
    assert code == 0, out
    [completed] = [orjson.loads(line) for line in out.splitlines()]
    assert completed["value"]["data"]["output"]["rates"][0]["country"] == "BE"
    code, out = await run_slmesh(
        settings.bootstrap_servers, "replay", "--all", "--request-id", "req-none-0001", "--dry-run"
    )
    assert code == 6, out
    for command in (["replay", "--all", "--dry-run"], ["shadow", "vat-rates"]):
        code, out = await run_slmesh(f"127.0.0.1:{free_port()}", *command)
        assert code == 4, (command, out)
        assert "slmesh dev" in out
        assert "Traceback" not in out
        assert "Unclosed" not in out


async def test_replay_republishes_marked_with_its_source(
    settings: MeshSettings, mesh: MeshClient
) -> None:
    response = await mesh.ask("VAT rates in Denmark?", timeout_s=60)
    rid = response.requestid
    target = f"slmesh.test.replayed.{uuid.uuid4().hex[:8]}"
    await ensure_topics(settings, [target])
    code, out = await run_slmesh(
        settings.bootstrap_servers,
        "replay",
        "--topic",
        "replies",
        "--request-id",
        rid,
        "--to",
        target,
        "--rate",
        "50",
    )
    assert code == 0, out
    assert "republished 1 record(s)" in out
    [copy] = [s async for s in read_to_end(settings, [target])]
    [source] = [
        s
        async for s in read_to_end(settings, [settings.replies_topic])
        if s.request_id == mesh_id(rid)
    ]
    assert copy.value == source.value
    assert copy.headers[REPLAY] == "true"
    assert copy.headers[REPLAY_SOURCE] == f"{source.topic}/{source.partition}/{source.offset}"

    code, out = await run_slmesh(settings.bootstrap_servers, "replay", "--all", "--compare")
    assert code == 2, out
    assert "needs --as-new" in out


# --- replay as new: the caller's request, proven as theirs, answered to them alone -----------


def caller_party(settings: MeshSettings, caller: str) -> MeshParty:
    """A caller of the suite's keyring, as an enterprise system would hold its own key."""
    return mesh_party(settings.model_copy(update={"identity": caller}), caller)


async def ask_as(
    settings: MeshSettings, raw: RawProducer, mesh: MeshClient, caller: str, text: str
) -> str:
    """A request proven by `caller`; its request id once it is answered (wherever the
    orchestrator answers that caller: the shared topic, or the caller's own)."""
    party = caller_party(settings, caller)
    request = mesh.request(text)
    body = encode(request)
    proof = party.prove(
        settings.requests_topic, request.requestid.encode(), body, to=party.policy.orchestrator
    )
    await raw.send(
        settings.requests_topic,
        body,
        key=request.requestid,
        headers=[("content-type", CONTENT_TYPE.encode()), *proof],
    )
    await answers_to(settings, request.requestid, caller)
    return request.requestid


async def answers_to(settings: MeshSettings, rid: str, caller: str) -> list[Seen]:
    """The answers to a request, once there is one, on the shared or the caller's topic."""
    own = response_topic(settings.responses_topic, caller)
    async with asyncio.timeout(60):
        while True:
            topics = [
                t for t in (settings.responses_topic, own) if t in await list_topics(settings)
            ]
            found = [s async for s in read_to_end(settings, topics) if s.request_id == rid]
            if found:
                return found
            await asyncio.sleep(0.2)


async def test_a_request_replayed_as_new_is_its_callers_proven_and_answered_to_them_alone(
    settings: MeshSettings, raw: RawProducer, mesh: MeshClient
) -> None:
    rid = await ask_as(settings, raw, mesh, "dev", "VAT rates in Denmark?")
    code, out = await run_slmesh(
        settings.bootstrap_servers, "replay", "--request-id", rid, "--as-new", "--compare"
    )
    assert code == 0, out
    [replayed] = [ln for ln in out.splitlines() if ln.startswith(f"replayed {rid} as ")]
    assert replayed.endswith(" (caller dev)")
    new_id = replayed.split()[3]
    assert new_id != rid
    lines = out.splitlines()
    assert lines[lines.index(replayed) + 1].split() == ["original", "replay"]
    # The same answer from a deterministic micromodel: shown twice, nothing marked
    # but times (never marked).
    [status] = [ln for ln in lines if ln[2:].startswith("status ")]
    assert status.split() == ["status", "ok", "ok"]
    [call] = [ln for ln in lines if ln[2:].startswith("call 1 ")]
    assert call.startswith("  ")
    assert call.count("vat-rates(country=DK) ok deterministic") == 2
    assert not [ln for ln in lines if ln.startswith("* ")], out
    assert "Denmark (DK)" in out
    # Answered on the caller's own topic, once; never on the shared one.
    own = response_topic(settings.responses_topic, "dev")
    answers = [s async for s in read_to_end(settings, [own]) if s.request_id == new_id]
    assert len(answers) == 1
    assert answers[0].data["status"] == "ok"
    # (The mesh makes no shared responses topic: nothing is answered there.)
    assert settings.responses_topic not in await list_topics(settings)
    [request] = [
        s async for s in read_to_end(settings, [settings.requests_topic]) if s.request_id == new_id
    ]
    assert request.headers[REPLAY_OF] == rid
    assert request.data["input"] == "VAT rates in Denmark?"
    assert request.data["reply_topic"] == own
    # Proven as the caller's: what the orchestrator checks, it believes.
    orchestrator = caller_party(settings, "orchestrator")
    headers = [(k, v.encode()) for k, v in request.headers.items()]
    value = request.value
    proven = orchestrator.check(
        settings.requests_topic, new_id.encode(), value, headers, roles=["caller"]
    )
    assert proven.name == "dev"


async def test_a_request_is_not_replayed_as_new_unless_it_proves_its_caller(
    settings: MeshSettings, raw: RawProducer, mesh: MeshClient
) -> None:
    party = caller_party(settings, "dev")
    request = mesh.request("VAT rates in Finland?")
    body = encode(request)
    rid = request.requestid
    # Naming a caller without its proof: the proof of another request's bytes.
    [(_, signer), (_, proof)] = party.prove(
        settings.requests_topic, rid.encode(), body + b" ", to=party.policy.orchestrator
    )
    await raw.send(
        settings.requests_topic,
        body,
        key=rid,
        headers=[
            ("content-type", CONTENT_TYPE.encode()),
            (SIGNER_HEADER, signer),
            (PROOF_HEADER, proof),
        ],
    )
    # And a request that names no caller at all: dead-lettered unanswered, but on the topic.
    unsigned = mesh.request("VAT rates in Greece?")
    await raw.send(settings.requests_topic, encode(unsigned), key=unsigned.requestid)
    code, out = await run_slmesh(
        settings.bootstrap_servers,
        "replay",
        "--as-new",
        "--request-id",
        rid,
        "--request-id",
        unsigned.requestid,
    )
    assert code == 9, out
    assert f"cannot replay {rid} as new: its proof does not hold for caller 'dev'" in out
    assert f"cannot replay {unsigned.requestid} as new: it names no caller" in out
    assert "nothing was replayed" in out
    replays = [
        s
        async for s in read_to_end(settings, [settings.requests_topic])
        if s.headers.get(REPLAY_OF) in (rid, unsigned.requestid)
    ]
    assert replays == []

    # The caller's secret not held (another identity's key given): refused, saying what to set.
    keyring = keyring_of(settings)
    assert keyring is not None
    code, out = await run_slmesh(
        settings.bootstrap_servers,
        "replay",
        "--as-new",
        "--request-id",
        await ask_as(settings, raw, mesh, "dev", "VAT rates in Latvia?"),
        env={"SLMESH_SIGNING_KEY_FILE": str(key_path(keyring, "operator"))},
    )
    assert code == 9, out
    assert "replay --as-new needs the secret of caller 'dev': set SLMESH_SIGNING_KEY_FILE" in out


async def test_requests_the_orchestrator_has_forgotten_are_replayed_as_new_only_with_yes(
    settings: MeshSettings, raw: RawProducer, mesh: MeshClient
) -> None:
    rid = await ask_as(settings, raw, mesh, "dev", "VAT rates in Estonia?")
    # Remembered for a minute, less the margin a replay needs to arrive: it counts as
    # forgotten already, as a request of yesterday would with the default hour.
    args = ["replay", "--topic", "requests", "--request-id", rid, "--gather-ttl-s", "60"]
    code, out = await run_slmesh(settings.bootstrap_servers, *args)
    assert code == 2, out
    assert "1 of the selected requests are older than the orchestrator remembers" in out
    assert "--yes replays them as new requests" in out
    assert "Nothing was replayed" in out
    replays = [
        s
        async for s in read_to_end(settings, [settings.requests_topic])
        if s.headers.get(REPLAY_OF) == rid or (s.request_id == rid and REPLAY in s.headers)
    ]
    assert replays == []

    code, out = await run_slmesh(settings.bootstrap_servers, *args, "--yes")
    assert code == 0, out
    [replayed] = [ln for ln in out.splitlines() if ln.startswith(f"replayed {rid} as ")]
    new_id = replayed.split()[3]
    assert "republished" not in out
    # Not the original request again: a new one, answered to its caller.
    [again] = [
        s async for s in read_to_end(settings, [settings.requests_topic]) if s.request_id == rid
    ]
    assert REPLAY not in again.headers
    assert await answers_to(settings, new_id, "dev")


# --- shadow ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveFlow:
    """What a shadow run must leave alone: the live vat-rates group's committed offsets,
    and the records on the vat-rates task topic, the replies and the responses."""

    counts: dict[str, int]
    ends: dict[TopicPartition, int]  # of the task topic, from the records themselves
    committed: dict[TopicPartition, int]

    @property
    def all_committed(self) -> bool:
        return all(self.committed.get(tp) == end for tp, end in self.ends.items())


async def live_flow(settings: MeshSettings) -> LiveFlow:
    task_topic = settings.task_topic("vat-rates")
    counts: dict[str, int] = {}
    ends: dict[TopicPartition, int] = {}
    topics = [
        task_topic,
        settings.replies_topic,
        response_topic(settings.responses_topic, DEV_CALLER),
    ]
    async for seen in read_to_end(settings, topics):
        counts[seen.topic] = counts.get(seen.topic, 0) + 1
        if seen.topic == task_topic:
            tp = TopicPartition(seen.topic, seen.partition)
            ends[tp] = max(ends.get(tp, 0), seen.offset + 1)
    admin = AIOKafkaAdminClient(**admin_kwargs(settings))
    await admin.start()
    try:
        # Asked per partition (docs/architecture.md: what the dev broker answers).
        offsets = await admin.list_consumer_group_offsets(
            micromodel_group("vat-rates"), partitions=list(ends)
        )
    finally:
        await admin.close()
    return LiveFlow(counts, ends, {tp: offsets[tp].offset for tp in ends if tp in offsets})


async def until_live_tasks_committed(settings: MeshSettings) -> LiveFlow:
    """The live flow once every task it holds is committed (commits follow replies)."""
    async with asyncio.timeout(60):
        while not (state := await live_flow(settings)).all_committed:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
    return state


async def test_a_shadow_candidate_answers_recorded_tasks_without_touching_the_live_flow(
    settings: MeshSettings, mesh: MeshClient
) -> None:
    asked = [await mesh.ask(f"VAT rates in {c}?", timeout_s=60) for c in ("Spain", "Malta")]
    rids = [r.requestid for r in asked]
    candidate_topic = f"slmesh.shadow.vat-rates.{uuid.uuid4().hex[:6]}"
    before = await until_live_tasks_committed(settings)
    candidate = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "slmesh.vat_rates",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={
            **os.environ,
            "SLMESH_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
            "SLMESH_REDIS_URL": settings.redis_url.get_secret_value(),
            "SLMESH_SHADOW_TOPIC": candidate_topic,
            "SLMESH_REPLICA": "vat-rates-candidate",
        },
    )
    try:
        assert candidate.stdout is not None
        async with asyncio.timeout(60):
            while b"slmesh-ready" not in (line := await candidate.stdout.readline()):
                assert line, "the candidate ended before it was ready"
        args = ["shadow", "vat-rates", "--candidate-topic", candidate_topic, "--timeout", "60"]
        for rid in rids:
            args += ["--request-id", rid]
        code, out = await run_slmesh(settings.bootstrap_servers, *args, "--json")
        assert code == 0, out
        report = orjson.loads(out)
        assert (report["tasks"], report["answered"]) == (2, 2)
        assert (report["exact_matches"], report["changed"], report["candidate_failed"]) == (
            2,
            0,
            0,
        )
        assert report["schema_valid"] == 2
        assert report["latency_p50_ms"]["candidate"] is not None
        assert report["tokens"]["delta"] == 0
        pairs = {p["task_id"]: p for p in report["pairs"]}
        assert {t.rsplit(":", 1)[0] for t in pairs} == {mesh_id(r) for r in rids}
        assert all(p["candidate"]["replica"] == "vat-rates-candidate" for p in pairs.values())
        assert all(p["recorded"]["replica"] != "vat-rates-candidate" for p in pairs.values())
        code, out = await run_slmesh(settings.bootstrap_servers, *args)
        assert code == 0, out
        assert "exact matches     2" in out
        assert "schema-valid      2" in out
        # Nothing of that micromodel in the selection: said, and exit 6.
        code, out = await run_slmesh(
            settings.bootstrap_servers, "shadow", "vat-rates", "--request-id", "req-none-0001"
        )
        assert code == 6, out
        assert "no recorded task of vat-rates" in out
    finally:
        candidate.terminate()
        await candidate.wait()
    # The live flow saw none of it: the live group committed nothing more, no task,
    # reply or response was added, and the candidate never announced itself.
    assert await live_flow(settings) == before
    live_replies = [
        s.data.get("task_id") async for s in read_to_end(settings, [settings.replies_topic])
    ]
    assert not [t for t in live_replies if ":shadow-" in str(t)]
    code, out = await run_slmesh(settings.bootstrap_servers, "registry")
    assert "vat-rates-candidate" not in out
    # A shadowed request's trace is still its own: one call, no shadow task in it.
    code, out = await run_slmesh(settings.bootstrap_servers, "trace", rids[0], "--json")
    assert code == 0, out
    assert [c["task_id"] for c in orjson.loads(out)["calls"]] == [f"{mesh_id(rids[0])}:1"]


async def test_shadow_copies_no_restricted_task_and_makes_no_topic_in_production(
    settings: MeshSettings, mesh: MeshClient
) -> None:
    restricted = await mesh.ask("VAT rates in Austria?", classification="restricted", timeout_s=60)
    internal = await mesh.ask("VAT rates in Austria?", timeout_s=60)
    candidate_topic = f"slmesh.shadow.vat-rates.{uuid.uuid4().hex[:6]}"
    args = ["shadow", "vat-rates", "--candidate-topic", candidate_topic, "--timeout", "1"]

    # Only the restricted one selected: nothing copied, said, and no topic made for it.
    code, out = await run_slmesh(
        settings.bootstrap_servers, *args, "--request-id", restricted.requestid
    )
    assert code == 6, out
    assert "no recorded task of vat-rates matches the selection; skipped 1 restricted" in out
    assert candidate_topic not in await list_topics(settings)

    # In production a shadow run makes no topic: it names the missing one and copies nothing.
    code, out = await run_slmesh(
        settings.bootstrap_servers,
        *args,
        "--request-id",
        internal.requestid,
        env={"SLMESH_DEPLOYMENT": "production"},
    )
    assert code == 6, out
    assert f"shadow topics {candidate_topic}" in out
    assert "makes none in production" in out
    assert candidate_topic not in await list_topics(settings)

    # Both selected (no candidate runs: nobody answers in time): the internal task alone
    # is copied, the restricted one counted.
    code, out = await run_slmesh(
        settings.bootstrap_servers,
        *args,
        "--request-id",
        restricted.requestid,
        "--request-id",
        internal.requestid,
        "--json",
    )
    assert code == 2, out
    report = orjson.loads(out)
    assert (report["tasks"], report["restricted_skipped"]) == (1, 1)
    copied = [s async for s in read_to_end(settings, [candidate_topic])]
    assert [s.request_id for s in copied] == [mesh_id(internal.requestid)]
    assert copied[0].data["classification"] == "internal"

    # Asked for, restricted tasks are copied too.
    code, out = await run_slmesh(
        settings.bootstrap_servers,
        *args,
        "--request-id",
        restricted.requestid,
        "--include-restricted",
        "--json",
    )
    assert code == 2, out
    assert orjson.loads(out)["restricted_skipped"] == 0
    copied = [s async for s in read_to_end(settings, [candidate_topic])]
    assert sorted(str(s.request_id) for s in copied) == sorted(
        [mesh_id(internal.requestid), mesh_id(restricted.requestid)]
    )

    # Never to a topic outside the shadow ones.
    code, out = await run_slmesh(
        settings.bootstrap_servers,
        "shadow",
        "vat-rates",
        "--candidate-topic",
        settings.task_topic("vat-rates"),
    )
    assert code == 9, out
    assert "a candidate's topic is a shadow topic" in out
