"""Requests replayed under new request ids (`--as-new`), and each new answer beside the
recorded one (`--compare`).

A request republished as it was is answered once only (the orchestrator
answers a request id once): under a new request id the mesh answers it afresh.
The new request is its original caller's, proven as theirs (`callers`), and
answered on that caller's own response topic alone: never the mesh's shared
one, nor a reply topic the record named.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer

from slmesh.cli.commands.replay.callers import Vouched, caller_topic
from slmesh.cli.commands.replay.republishing import (
    REPLAY,
    REPLAY_OF,
    REPLAY_SOURCE,
    Progress,
    Republisher,
)
from slmesh.cli.conventions import NO_RESPONSE
from slmesh.cli.records import Seen, read_to_end, type_matches
from slmesh.runtime.kafka import groupless_consumer, list_topics, partitions_of
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import CONTENT_TYPE, ContractError, RequestCompleted, decode


def as_new_request(
    seen: Seen, request_id: str | None = None, *, reply_topic: str
) -> tuple[str, bytes]:
    """A recorded RequestSubmitted under a new request id and event id, sent now, answered
    on `reply_topic` (its caller's own)."""
    if seen.event is None or not (seen.type or "").endswith("RequestSubmitted"):
        raise ValueError(f"{seen.topic}@{seen.offset} is no RequestSubmitted")
    new_id = request_id or f"req-replay-{uuid.uuid4().hex}"
    event = {
        **seen.event,
        "id": uuid.uuid4().hex,
        "requestid": new_id,
        "time": datetime.now(UTC).isoformat(),
    }
    for trace_field in ("traceparent", "tracestate"):
        event.pop(trace_field, None)  # a new request, a new trace
    data = dict(event.get("data") or {})
    # Named, not left out: an orchestrator that answers a request without a reply topic
    # on the shared responses topic would tell every reader of it. Any other reply
    # topic the record named goes: the caller did not ask twice.
    data["reply_topic"] = reply_topic
    event["data"] = data
    return new_id, orjson.dumps(event)


async def replay_requests(
    settings: MeshSettings,
    requests: Sequence[Vouched],
    progress: Progress,
    *,
    compare_s: float | None = None,
) -> int:
    """Each request again under a new id, proven as its caller's; with `compare_s`, its
    answer (awaited that many seconds) beside the original."""
    code = 0
    watch = AnswerWatch(settings)
    try:
        if compare_s is not None:
            await watch.start(sorted({caller_topic(settings, r) for r in requests}))
        async with Republisher(settings) as publisher:
            for request in requests:
                seen, party = request.seen, request.party
                reply_topic = caller_topic(settings, request)
                new_id, body = as_new_request(seen, reply_topic=reply_topic)
                proof = party.prove(
                    settings.requests_topic, new_id.encode(), body, to=party.policy.orchestrator
                )
                source = f"{seen.topic}/{seen.partition}/{seen.offset}".encode()
                headers = [
                    ("content-type", CONTENT_TYPE.encode()),
                    (REPLAY, b"true"),
                    (REPLAY_SOURCE, source),
                    (REPLAY_OF, (seen.request_id or "").encode()),
                    *proof,
                ]
                await publisher.send(settings.requests_topic, body, new_id, headers)
                progress.step()
                print(f"replayed {seen.request_id} as {new_id} (caller {request.caller})")
                if compare_s is None:
                    continue
                try:
                    response = await asyncio.wait_for(watch.answer(new_id), compare_s)
                except TimeoutError:
                    print(f"no response to {new_id} within {compare_s:g} s", file=sys.stderr)
                    code = NO_RESPONSE
                    continue
                original = await original_response(settings, seen, also=[reply_topic])
                print(compare(original, response.data.model_dump(mode="json")))
    finally:
        await watch.stop()
    return code


class AnswerWatch:
    """The answers arriving on callers' response topics from now on, by request id."""

    def __init__(self, settings: MeshSettings) -> None:
        self._settings = settings
        self._consumer: AIOKafkaConsumer | None = None
        self._seen: dict[str, RequestCompleted] = {}

    async def start(self, topics: list[str]) -> None:
        self._consumer = groupless_consumer(self._settings)
        await self._consumer.start()
        partitions = [tp for topic in topics for tp in await partitions_of(self._consumer, topic)]
        self._consumer.assign(partitions)
        await self._consumer.seek_to_end(*partitions)
        # Positions resolved before any request goes out: no answer is missed.
        for tp in partitions:
            await self._consumer.position(tp)

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def answer(self, request_id: str) -> RequestCompleted:
        assert self._consumer is not None, "start() first"
        limit = self._settings.max_event_bytes * 16
        while request_id not in self._seen:
            batches = await self._consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    try:
                        response = decode(record.value or b"", (RequestCompleted,), max_bytes=limit)
                    except ContractError:
                        continue  # not an answer: nothing to compare
                    self._seen.setdefault(response.requestid, response)
        return self._seen.pop(request_id)


async def original_response(
    settings: MeshSettings, request: Seen, *, also: Sequence[str] = ()
) -> dict[str, Any] | None:
    """The recorded answer to a request: on the responses topic, its own reply topic, or
    the topics `also` named (its caller's), those of them that exist."""
    topics = [settings.responses_topic]
    reply_topic = request.data.get("reply_topic")
    for topic in (reply_topic, *also):
        if isinstance(topic, str) and topic not in topics:
            topics.append(topic)
    existing = await list_topics(settings)
    topics = [t for t in topics if t in existing]
    async for seen in read_to_end(settings, topics):
        if seen.request_id == request.request_id and type_matches(seen, "RequestCompleted"):
            return seen.data
    return None


def compare(original: dict[str, Any] | None, replayed: dict[str, Any]) -> str:
    """Two responses' data side by side, differences marked `*`."""
    left = original or {}
    rows: list[tuple[str, str, str]] = [
        ("status", str(left.get("status", "-")), str(replayed.get("status"))),
        ("planner", str(left.get("planner", "-")), str(replayed.get("planner"))),
        ("rounds", str(left.get("steps", "-")), str(replayed.get("steps"))),
        ("elapsed ms", f"{left.get('elapsed_ms', '-')}", f"{replayed.get('elapsed_ms')}"),
    ]
    old_calls, new_calls = left.get("calls") or [], replayed.get("calls") or []
    for i in range(max(len(old_calls), len(new_calls))):
        a = old_calls[i] if i < len(old_calls) else None
        b = new_calls[i] if i < len(new_calls) else None
        rows.append((f"call {i + 1}", _call(a), _call(b)))
        rows.append(("  tokens", _tokens(a), _tokens(b)))
        rows.append(("  latency", _latency(a), _latency(b)))
    old_answer = str(left.get("answer", "-")).splitlines() or ["-"]
    new_answer = str(replayed.get("answer", "")).splitlines() or [""]
    for i in range(max(len(old_answer), len(new_answer))):
        a = old_answer[i] if i < len(old_answer) else ""
        b = new_answer[i] if i < len(new_answer) else ""
        rows.append(("answer" if i == 0 else "", a, b))
    width = min(max(len(a) for _, a, _ in rows), COLUMN)
    lines = [f"  {'':<11} {'original':<{width}}   replay"]
    for name, a, b in rows:
        # Marked on the whole values; shown cut to the column.
        mark = " " if a == b or name in UNMARKED else "*"
        lines.append(f"{mark} {name:<11} {_cut(a):<{width}}   {_cut(b)}")
    return "\n".join(lines)


COLUMN = 60
# Times differ from run to run: shown, never marked as a change.
UNMARKED = frozenset({"elapsed ms", "  latency"})


def _cut(text: str) -> str:
    return text if len(text) <= COLUMN else text[: COLUMN - 1] + "…"


def _call(call: dict[str, Any] | None) -> str:
    """A call in one line: the whole output, so that any change in it is marked."""
    if call is None:
        return "-"
    args = ",".join(
        f"{k}={v if isinstance(v, str | int | float) else '…'}"
        for k, v in (call.get("arguments") or {}).items()
    )
    output = orjson.dumps(call.get("output")).decode()
    return f"{call.get('micromodel')}({args}) {call.get('status')} {call.get('model')} {output}"


def _tokens(call: dict[str, Any] | None) -> str:
    tokens = (call or {}).get("tokens")
    if not isinstance(tokens, dict):
        return "-"
    return f"{tokens.get('prompt', 0)}+{tokens.get('completion', 0)}"


def _latency(call: dict[str, Any] | None) -> str:
    if call is None:
        return "-"
    model, mesh = call.get("latency_ms"), call.get("elapsed_ms")
    return " ".join(
        [
            f"{model:.2f} ms in model" if isinstance(model, int | float) else "-",
            f"{mesh:.1f} ms in mesh" if isinstance(mesh, int | float) else "",
        ]
    ).strip()
