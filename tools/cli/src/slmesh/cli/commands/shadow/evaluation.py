"""`slmesh shadow <micromodel>`: a candidate version answers recorded tasks, beside the live flow.

The recorded tasks of one micromodel (picked like `slmesh replay` picks) go
to a candidate's own topic under new task ids (so no stored reply of the
live version is sent back for them), with a reply topic of their own: the
candidate (a micromodel process started with SLMESH_SHADOW_TOPIC) consumes in
a group of its own and never announces itself, so no live task, offset or
reply is touched. Restricted tasks are not copied unless asked, and in
production no topic is made (`admission`). Its replies are set against the
recorded ones: exact
matches, outputs valid against the micromodel's announced output schema,
changed outputs side by side, and latency and token deltas. This is the
evidence a team needs before it swaps in a fine-tuned model.
"""

from __future__ import annotations

import asyncio
import functools
import statistics
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import orjson
from aiokafka import AIOKafkaConsumer

from slmesh.cli.commands.registry.replicas import read_registry
from slmesh.cli.commands.replay.republishing import REPLAY, REPLAY_SOURCE, Republisher
from slmesh.cli.commands.replay.selection import Selection
from slmesh.cli.commands.shadow.admission import admit, may_create_topics
from slmesh.cli.records import SHADOW_PREFIX, Seen, read_to_end, type_matches
from slmesh.runtime.client import follow_from_end
from slmesh.runtime.kafka import UnknownTopicError, ensure_topics, groupless_consumer, list_topics
from slmesh.runtime.kafka.publishing import Prove
from slmesh.runtime.kafka.topics import SHADOW_REPLIES
from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.trust import TrustUnavailable, mesh_party

# The CLI's own identity in the trust file, unless SLMESH_IDENTITY says otherwise.
OPERATOR = "operator"


def candidate_topic_of(micromodel: str) -> str:
    return f"{SHADOW_PREFIX}{micromodel}"


@dataclass
class Pair:
    """One recorded task: its recorded reply, and the candidate's."""

    task_id: str
    arguments: dict[str, Any]
    recorded: dict[str, Any] | None = None
    recorded_ok: bool = False
    candidate: dict[str, Any] | None = None
    candidate_ok: bool = False
    schema_valid: bool | None = None

    @property
    def same(self) -> bool:
        if self.recorded is None or self.candidate is None:
            return False
        if self.recorded_ok and self.candidate_ok:
            return bool(self.recorded.get("output") == self.candidate.get("output"))
        if not self.recorded_ok and not self.candidate_ok:
            recorded_code = (self.recorded.get("error") or {}).get("code")
            return bool(recorded_code == (self.candidate.get("error") or {}).get("code"))
        return False


@dataclass
class ShadowReport:
    micromodel: str
    candidate_topic: str
    pairs: list[Pair] = field(default_factory=list)
    # The schema the candidate's outputs are judged against: the live version's.
    has_schema: bool = False
    # Selected tasks left out because their data is restricted.
    restricted_skipped: int = 0

    @property
    def answered(self) -> list[Pair]:
        return [p for p in self.pairs if p.candidate is not None]

    def summary(self) -> dict[str, Any]:
        answered = self.answered
        valid = [p for p in answered if p.schema_valid]
        recorded_tokens = _tokens([p.recorded for p in answered])
        candidate_tokens = _tokens([p.candidate for p in answered])
        return {
            "micromodel": self.micromodel,
            "candidate_topic": self.candidate_topic,
            "tasks": len(self.pairs),
            "restricted_skipped": self.restricted_skipped,
            "answered": len(answered),
            "exact_matches": sum(p.same for p in answered),
            "changed": sum(not p.same for p in answered),
            "candidate_failed": sum(not p.candidate_ok for p in answered),
            "schema_valid": len(valid) if self.has_schema else None,
            "latency_p50_ms": {
                "recorded": _median([p.recorded for p in answered], "latency_ms"),
                "candidate": _median([p.candidate for p in answered], "latency_ms"),
                # The median of each task's change, candidate minus recorded.
                "delta": _median_delta(answered),
            },
            "tokens": {
                "recorded": recorded_tokens,
                "candidate": candidate_tokens,
                "delta": candidate_tokens - recorded_tokens,
            },
        }


def _median(replies: list[dict[str, Any] | None], key: str) -> float | None:
    values = [float(r[key]) for r in replies if r is not None and r.get(key) is not None]
    return round(statistics.median(values), 3) if values else None


def _median_delta(pairs: list[Pair]) -> float | None:
    deltas = [
        float(p.candidate["latency_ms"]) - float(p.recorded["latency_ms"])
        for p in pairs
        if p.recorded is not None
        and p.candidate is not None
        and p.recorded.get("latency_ms") is not None
        and p.candidate.get("latency_ms") is not None
    ]
    return round(statistics.median(deltas), 3) if deltas else None


def _tokens(replies: list[dict[str, Any] | None]) -> int:
    total = 0
    for reply in replies:
        tokens = (reply or {}).get("tokens") or {}
        total += int(tokens.get("prompt") or 0) + int(tokens.get("completion") or 0)
    return total


def shadow_task(task: Seen, run: str, deadline: datetime) -> tuple[str, bytes]:
    """The recorded task under a new task id, its reply sent to the shadow's reply topic."""
    assert task.event is not None
    data = dict(task.data)
    new_id = f"{data['task_id']}:shadow-{run}"
    data.update(task_id=new_id, reply_topic=SHADOW_REPLIES, deadline=deadline.isoformat())
    event = {**task.event, "id": uuid.uuid4().hex, "time": datetime.now(UTC).isoformat()}
    for trace_field in ("traceparent", "tracestate"):
        event.pop(trace_field, None)  # the candidate's work is no part of the request's trace
    event["data"] = data
    return new_id, orjson.dumps(event)


def operator_proof(settings: MeshSettings, micromodel: str) -> Prove:
    """Proves a shadow task as this operator to the identity that serves `micromodel`."""
    party = mesh_party(settings, OPERATOR)
    owner = party.policy.owner_of(micromodel)
    if owner is None:
        raise TrustUnavailable(f"no identity in the trust file serves {micromodel!r}")
    return functools.partial(party.prove, to=owner)


def judge(pairs: list[Pair], output_schema: dict[str, Any] | None) -> None:
    validator = jsonschema.Draft202012Validator(output_schema) if output_schema else None
    for pair in pairs:
        if pair.candidate is None or validator is None:
            continue
        output = pair.candidate.get("output")
        pair.schema_valid = pair.candidate_ok and validator.is_valid(output)


async def run_shadow(
    settings: MeshSettings,
    micromodel: str,
    selection: Selection,
    *,
    candidate_topic: str | None = None,
    timeout_s: float = 120.0,
    rate: float | None = None,
    include_restricted: bool = False,
) -> ShadowReport:
    topic = candidate_topic or candidate_topic_of(micromodel)
    report = ShadowReport(micromodel, topic)
    task_topic = settings.task_topic(micromodel)
    selected = [
        s
        async for s in read_to_end(settings, [task_topic])
        if type_matches(s, "TaskRequested") and selection.matches(s)
    ]
    admission = admit(selected, include_restricted=include_restricted)
    report.restricted_skipped = len(admission.restricted)
    tasks = admission.copied
    if not tasks:
        return report
    recorded: dict[str, Seen] = {}
    async for seen in read_to_end(settings, [settings.replies_topic]):
        task_id = seen.data.get("task_id")
        if isinstance(task_id, str) and task_id not in recorded:
            recorded[task_id] = seen
    await _shadow_topics(settings, [topic, SHADOW_REPLIES])
    run = uuid.uuid4().hex[:8]
    pairs: dict[str, Pair] = {}
    consumer = groupless_consumer(settings)
    try:
        await consumer.start()
        # At the replies' end, its position resolved, before any task goes out: no
        # reply is missed (one from an earlier run may be read, and is not ours).
        await follow_from_end(consumer, SHADOW_REPLIES)
        deadline = datetime.now(UTC) + timedelta(seconds=timeout_s)
        # A rewritten task proves nothing of the orchestrator's: the operator proves it,
        # to the candidate's identity (a candidate believes an operator's tasks on its
        # shadow topic only, and replies to the shadow replies topic only).
        prove = operator_proof(settings, micromodel)
        async with Republisher(settings, rate=rate) as publisher:
            for task in tasks:
                new_id, body = shadow_task(task, run, deadline)
                original_id = str(task.data.get("task_id"))
                reply = recorded.get(original_id)
                pairs[new_id] = Pair(
                    task_id=original_id,
                    arguments=dict(task.data.get("arguments") or {}),
                    recorded=reply.data if reply else None,
                    recorded_ok=bool(reply and type_matches(reply, "TaskCompleted")),
                )
                source = f"{task.topic}/{task.partition}/{task.offset}".encode()
                proof = prove(topic, new_id.encode(), body)
                await publisher.send(
                    topic, body, new_id, [(REPLAY, b"true"), (REPLAY_SOURCE, source), *proof]
                )
        waiting = set(pairs)
        try:
            async with asyncio.timeout(timeout_s):
                async for seen in _replies(consumer):
                    task_id = str(seen.data.get("task_id"))
                    pair = pairs.get(task_id)
                    if pair is not None and pair.candidate is None:
                        pair.candidate = seen.data
                        pair.candidate_ok = type_matches(seen, "TaskCompleted")
                        waiting.discard(task_id)
                    if not waiting:
                        break
        except TimeoutError:
            pass  # those not answered are reported so
    finally:
        await consumer.stop()
    report.pairs = list(pairs.values())
    schema = await _output_schema(settings, micromodel)
    report.has_schema = schema is not None
    judge(report.pairs, schema)
    return report


async def _shadow_topics(settings: MeshSettings, topics: list[str]) -> None:
    """The run's topics made where it may make them (dev), else there already."""
    if may_create_topics(settings):
        await ensure_topics(settings, topics)
        return
    existing = await list_topics(settings)
    missing = [t for t in topics if t not in existing]
    if missing:
        raise UnknownTopicError(
            f"shadow topics {', '.join(missing)} do not exist, and slmesh shadow makes none "
            f"in production (SLMESH_DEPLOYMENT={settings.deployment}): an operator makes "
            "them, with the retention restricted data needs"
        )


async def _replies(consumer: AIOKafkaConsumer) -> AsyncIterator[Seen]:
    """The records of the partitions the consumer is assigned, as they come."""
    while True:
        batches = await consumer.getmany(timeout_ms=500)
        for records in batches.values():
            for record in records:
                yield Seen.of(record)


async def _output_schema(settings: MeshSettings, micromodel: str) -> dict[str, Any] | None:
    tools, _ = await read_registry(settings)
    tool = tools.get(micromodel)
    return tool.output_schema if tool is not None and tool.output_schema else None


def format_report(report: ShadowReport) -> str:
    s = report.summary()
    skipped = (
        f"skipped {report.restricted_skipped} restricted task(s): their data is not copied "
        "to a candidate (--include-restricted copies it)"
        if report.restricted_skipped
        else None
    )
    if not report.pairs:
        none = f"no recorded task of {report.micromodel} matches the selection"
        return f"{none}; {skipped}" if skipped else none
    valid = "no announced schema" if s["schema_valid"] is None else str(s["schema_valid"])
    latency, tokens = s["latency_p50_ms"], s["tokens"]
    lines = [
        f"shadow run of {report.micromodel}: {s['tasks']} recorded task(s) to "
        f"{report.candidate_topic}; {s['answered']} answered",
        *([f"  {skipped}"] if skipped else []),
        f"  exact matches     {s['exact_matches']}",
        f"  changed           {s['changed']}",
        f"  candidate failed  {s['candidate_failed']}",
        f"  schema-valid      {valid}",
        f"  latency p50       recorded {latency['recorded']} ms, candidate "
        f"{latency['candidate']} ms{_delta(latency['delta'])}",
        f"  tokens            recorded {tokens['recorded']}, candidate {tokens['candidate']} "
        f"({tokens['delta']:+d})",
    ]
    unanswered = [p.task_id for p in report.pairs if p.candidate is None]
    if unanswered:
        lines.append(f"  no answer from the candidate for {', '.join(unanswered)}")
    for pair in report.answered:
        if pair.same:
            continue
        lines += [
            f"changed: {pair.task_id} {orjson.dumps(pair.arguments).decode()}",
            f"  recorded:  {_what(pair.recorded, pair.recorded_ok)}",
            f"  candidate: {_what(pair.candidate, pair.candidate_ok)}",
        ]
    return "\n".join(lines)


def _delta(delta: float | None) -> str:
    return "" if delta is None else f"; per task p50 {delta:+.3f} ms"


def _what(reply: dict[str, Any] | None, ok: bool) -> str:
    if reply is None:
        return "(no reply recorded)"
    if not ok:
        error = reply.get("error") or {}
        return f"failed {error.get('code')}: {error.get('message')}"
    text = orjson.dumps(reply.get("output")).decode()
    return text if len(text) <= 160 else text[:159] + "…"
