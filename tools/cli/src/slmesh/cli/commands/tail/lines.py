"""A topic's records as they come, one line each (or JSON lines): what `slmesh tail` prints."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import orjson

from slmesh.cli.records import Seen, follow, same_request, topic_name, type_matches
from slmesh.runtime.kafka import groupless_consumer, partitions_of
from slmesh.runtime.settings import MeshSettings


def _short(text: object, limit: int = 80) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def gist(seen: Seen) -> str:
    """What a record says, in a few words; never fails, whatever the record holds."""
    if seen.event is None:
        return f"(not JSON: {len(seen.value)} bytes: {_short(seen.value[:60])})"
    try:
        return _gist(seen)
    except (TypeError, ValueError, AttributeError):
        # JSON, and typed as an event, but not shaped like one (a null latency, a
        # string error, ...): shown as it is.
        return f"(malformed event: {_short(orjson.dumps(seen.data).decode(), 60)})"


def _gist(seen: Seen) -> str:
    d, kind = seen.data, (seen.type or "").rsplit(".", 1)[-1]
    if kind == "RequestSubmitted":
        calls = d.get("calls")
        return _short(d.get("input", "")) + (f" ({len(calls)} explicit calls)" if calls else "")
    if kind == "TaskRequested":
        args = orjson.dumps(d.get("arguments", {})).decode()
        return f"{d.get('micromodel')} {d.get('task_id')} {_short(args, 60)}"
    if kind == "TaskCompleted":
        tokens = d.get("tokens") or {}
        spent = f", {tokens.get('prompt')}+{tokens.get('completion')} tokens" if tokens else ""
        return (
            f"{d.get('micromodel')} {d.get('task_id')} ok {d.get('model')}, "
            f"{float(d.get('latency_ms', 0)):.1f} ms{spent}"
        )
    if kind == "TaskFailed":
        error = d.get("error") or {}
        return (
            f"{d.get('micromodel')} {d.get('task_id')} failed "
            f"{error.get('code')}: {_short(error.get('message', ''), 60)}"
        )
    if kind == "RequestCompleted":
        answer = str(d.get("answer", "")).split("\n", 1)[0]
        return f"{d.get('status')} in {float(d.get('elapsed_ms', 0)):.1f} ms: {_short(answer, 60)}"
    if kind == "MicromodelAnnounced":
        return f"{d.get('name')} {d.get('version')} {d.get('status')} ({d.get('replica')})"
    return _short(orjson.dumps(d).decode())


def pretty(seen: Seen) -> str:
    when = seen.time.strftime("%H:%M:%S.%f")[:-3]
    kind = (seen.type or "-").rsplit(".", 1)[-1]
    where = f"{seen.topic}[{seen.partition}]@{seen.offset}"
    return f"{when} {where} {kind} {seen.request_id or '-'} {gist(seen)}"


def matcher(request_id: str | None, kind: str | None) -> Callable[[Seen], bool]:
    def matches(seen: Seen) -> bool:
        if request_id is not None and not same_request(seen, request_id):
            return False
        return kind is None or type_matches(seen, kind)

    return matches


async def tail(
    settings: MeshSettings,
    topic: str,
    *,
    from_beginning: bool = False,
    request_id: str | None = None,
    kind: str | None = None,
    limit: int | None = None,
    quiet_s: float | None = None,
    as_json: bool = False,
    out: Callable[[str], None] = print,
) -> int:
    """Print matching records until `limit` of them, or `quiet_s` without one; the count."""
    matches = matcher(request_id, kind)
    printed = 0
    consumer = groupless_consumer(settings)
    try:
        # Started in here: stopped even when no broker answers (no "Unclosed" warning).
        await consumer.start()
        name = topic_name(topic)
        # Looked up before any quiet time counts: a topic that is not there is said so
        # (UnknownTopicError), not taken for a quiet one.
        await partitions_of(consumer, name)
        records = follow(consumer, name, from_beginning=from_beginning)
        while limit is None or printed < limit:
            try:
                async with asyncio.timeout(quiet_s):
                    seen = await anext(records)
                    while not matches(seen):
                        seen = await anext(records)
            except TimeoutError:
                break
            out(orjson.dumps(seen.as_json()).decode() if as_json else pretty(seen))
            printed += 1
        with contextlib.suppress(Exception):
            await records.aclose()  # type: ignore[attr-defined]
    finally:
        await consumer.stop()
    return printed
