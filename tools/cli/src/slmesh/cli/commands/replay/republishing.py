"""`slmesh replay`: records picked from the topics, printed or published again.

Selection is pure (`Selection.matches`); republishing marks each record as a
replay of its source (`slmesh-replay`, `slmesh-replay-source` headers), so a
consumer or an operator tells it from live traffic. A request republished as
it was is answered once only (the orchestrator answers a request id once):
`--as-new` gives each request a new request id, so the mesh answers it
afresh, and `--compare` shows the new answer beside the original.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

import orjson
from aiokafka import AIOKafkaProducer

from slmesh.cli.records import Seen, type_matches
from slmesh.runtime.kafka import admin_kwargs, profile_for
from slmesh.runtime.settings import MeshSettings

REPLAY = "slmesh-replay"
REPLAY_SOURCE = "slmesh-replay-source"
# A replayed request under a new id names the one it replays.
REPLAY_OF = "slmesh-replay-of"

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """An ISO 8601 instant, or one relative to now: `90s`, `10m`, `2h`, `1d` ago."""
    relative = _RELATIVE.match(text.strip())
    if relative:
        amount, unit = float(relative.group(1)), relative.group(2)
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: amount})
    when = datetime.fromisoformat(text.strip())
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Selection:
    """Which records to replay; every criterion given must hold."""

    partition: int | None = None
    from_offset: int | None = None
    to_offset: int | None = None  # inclusive
    since: datetime | None = None
    until: datetime | None = None
    request_ids: frozenset[str] = field(default_factory=frozenset)
    kind: str | None = None
    micromodel: str | None = None

    def matches(self, seen: Seen) -> bool:
        if self.partition is not None and seen.partition != self.partition:
            return False
        if self.from_offset is not None and seen.offset < self.from_offset:
            return False
        if self.to_offset is not None and seen.offset > self.to_offset:
            return False
        if self.since is not None and seen.time < self.since:
            return False
        if self.until is not None and seen.time > self.until:
            return False
        if self.request_ids and seen.request_id not in self.request_ids:
            return False
        if self.kind is not None and not type_matches(seen, self.kind):
            return False
        return self.micromodel is None or seen.data.get("micromodel") == self.micromodel


def replay_headers(seen: Seen) -> list[tuple[str, bytes]]:
    """The record's own headers (its trace context too: the replay joins its trace),
    marked as a replay of where it came from."""
    kept = [(k, v.encode()) for k, v in seen.headers.items() if k not in (REPLAY, REPLAY_SOURCE)]
    source = f"{seen.topic}/{seen.partition}/{seen.offset}"
    return [*kept, (REPLAY, b"true"), (REPLAY_SOURCE, source.encode())]


def as_new_request(seen: Seen, request_id: str | None = None) -> tuple[str, bytes]:
    """A recorded RequestSubmitted under a new request id and event id, sent now."""
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
    # Its answer goes to the mesh's responses topic, never to the original
    # requester, who did not ask twice.
    data.pop("reply_topic", None)
    event["data"] = data
    return new_id, orjson.dumps(event)


class Progress:
    """`done/total` on one line of stderr, redrawn; silent when not a terminal."""

    def __init__(self, total: int, out: TextIO = sys.stderr, *, quiet: bool = False) -> None:
        self.total, self.done, self.out = total, 0, out
        self.shown = not quiet and out.isatty()

    def step(self) -> None:
        self.done += 1
        if self.shown:
            width = 30
            filled = int(width * self.done / max(self.total, 1))
            bar = "#" * filled + "." * (width - filled)
            self.out.write(f"\r[{bar}] {self.done}/{self.total}")
            if self.done == self.total:
                self.out.write("\n")
            self.out.flush()


class Republisher:
    """Publishes records again, at most `rate` a second."""

    def __init__(self, settings: MeshSettings, *, rate: float | None = None) -> None:
        self._producer = AIOKafkaProducer(
            **admin_kwargs(settings), **profile_for(settings).producer
        )
        self._interval = 1 / rate if rate else 0.0
        self._next = 0.0

    async def __aenter__(self) -> Republisher:
        try:
            await self._producer.start()
        except BaseException:
            await self._producer.stop()  # closed even when no broker answers
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    async def send(
        self, topic: str, value: bytes, key: str | None, headers: Sequence[tuple[str, bytes]]
    ) -> None:
        if self._interval:
            now = time.monotonic()
            if now < self._next:
                await asyncio.sleep(self._next - now)
            self._next = max(now, self._next) + self._interval
        await self._producer.send_and_wait(
            topic, value, key=key.encode() if key else None, headers=list(headers)
        )


async def republish(
    settings: MeshSettings,
    records: Sequence[Seen],
    *,
    to_topic: str | None = None,
    rate: float | None = None,
    progress: Progress | None = None,
) -> int:
    async with Republisher(settings, rate=rate) as publisher:
        for seen in records:
            await publisher.send(to_topic or seen.topic, seen.value, seen.key, replay_headers(seen))
            if progress is not None:
                progress.step()
    return len(records)


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


def dry_run_lines(records: Sequence[Seen]) -> list[str]:
    return [orjson.dumps(s.as_json()).decode() for s in records]
