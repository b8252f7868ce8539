"""An in-memory `GatherStorage`: the Redis store's transitions (gather.scripts), in one process.

The state, calls and replies are kept as the JSON the Redis store writes and
read back the same way, so what the orchestrator stores must round-trip.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from slmesh.orchestrator.callers import unscope
from slmesh.orchestrator.gather.state import GatherCall, GatherSnapshot, GatherState, StoredReply
from slmesh.orchestrator.gather.store import (
    LOST_NOTE,
    AnswerClaim,
    Claim,
    GatherStorage,
    Opening,
    ReplyOutcome,
)


def _clock_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class _Request:
    state: str
    pending: int = 0
    request: bytes | None = None
    calls: bytes | None = None
    # Each call's task id -> the micromodel it went to.
    tasks: dict[str, str] = field(default_factory=dict)
    results: dict[str, bytes] = field(default_factory=dict)
    # Only for a claimed answer: when its lease runs out (the Redis key expires).
    expires_ms: int | None = None


class FakeGatherStore:
    def __init__(self, *, lease_ms: int = 15_000) -> None:
        self.lease_ms = lease_ms
        self.requests: dict[str, _Request] = {}
        self.deadlines: dict[str, int] = {}
        self.completing: dict[str, int] = {}
        self.notes: dict[tuple[str, str], bytes] = {}
        self.lost_at: int | None = None
        self.closed = False
        # Each caller's open requests: scoped id -> deadline.
        self.open_by_caller: dict[str, dict[str, int]] = {}

    def _get(self, request_id: str) -> _Request | None:
        found = self.requests.get(request_id)
        if found is not None and found.expires_ms is not None and found.expires_ms <= _clock_ms():
            del self.requests[request_id]
            return None
        return found

    def _lease_until(self) -> int:
        return _clock_ms() + self.lease_ms

    def _open_of(self, request_id: str) -> dict[str, int]:
        scoped = unscope(request_id)
        caller = scoped.caller if scoped is not None else request_id
        return self.open_by_caller.setdefault(caller, {})

    async def open(
        self,
        request_id: str,
        *,
        request: GatherState,
        calls: list[GatherCall],
        deadline_ms: int,
        max_open: int,
    ) -> Opening:
        if self._get(request_id) is not None:
            return Opening(opened=False)
        now = _clock_ms()
        counted = self._open_of(request_id)
        for past in [r for r, deadline in counted.items() if deadline < now]:
            del counted[past]
        if len(counted) >= max_open:
            self.requests[request_id] = _Request("answering", expires_ms=self._lease_until())
            return Opening(opened=False, refused=True, open_requests=len(counted))
        counted[request_id] = deadline_ms
        self.requests[request_id] = _Request(
            "open",
            pending=len(calls),
            request=request.to_json(),
            calls=_calls_json(calls),
            tasks={c.task_id: c.micromodel for c in calls},
        )
        self.deadlines[request_id] = deadline_ms
        return Opening(opened=True, open_requests=len(counted))

    async def open_requests(self, caller: str) -> int:
        now = _clock_ms()
        return sum(deadline >= now for deadline in self.open_by_caller.get(caller, {}).values())

    async def claim_answer(self, request_id: str) -> AnswerClaim:
        found = self._get(request_id)
        if found is not None and found.state == "answering":
            return AnswerClaim.ANSWERING
        if found is not None:
            return AnswerClaim.ANSWERED
        self.requests[request_id] = _Request("answering", expires_ms=self._lease_until())
        return AnswerClaim.CLAIMED

    async def answered(self, request_id: str) -> bool:
        found = self._get(request_id)
        if found is None or found.state != "answering":
            return False
        found.state, found.expires_ms = "done", None
        return True

    async def record_reply(
        self,
        request_id: str,
        task_id: str,
        *,
        micromodel: str,
        event: bytes,
        received_ms: float,
    ) -> tuple[ReplyOutcome, GatherSnapshot | None]:
        found = self._get(request_id)
        if found is None:
            return ReplyOutcome.STATE_LOST, None
        called = found.tasks.get(task_id)
        if called is not None and called != micromodel:
            return ReplyOutcome.WRONG_MICROMODEL, None
        if found.state != "open":
            return ReplyOutcome.NOT_OPEN, None
        if called is None:
            return ReplyOutcome.UNKNOWN_TASK, None
        if task_id in found.results:
            return ReplyOutcome.DUPLICATE, None
        found.results[task_id] = StoredReply.encode(event, received_ms)
        found.pending -= 1
        if found.pending > 0:
            return ReplyOutcome.WAITING, None
        found.state = "completing"
        self.deadlines.pop(request_id, None)
        self.completing[request_id] = self._lease_until()
        return ReplyOutcome.COMPLETE, _snapshot(found)

    async def extend(
        self,
        request_id: str,
        *,
        request: GatherState,
        calls: list[GatherCall],
        new_calls: list[GatherCall],
        deadline_ms: int,
    ) -> bool:
        found = self._get(request_id)
        if found is None or found.state != "completing":
            return False
        self.completing.pop(request_id, None)
        found.state, found.pending = "open", len(new_calls)
        found.request, found.calls = request.to_json(), _calls_json(calls)
        found.tasks |= {c.task_id: c.micromodel for c in new_calls}
        self.deadlines[request_id] = deadline_ms
        return True

    async def put_note(self, request_id: str, name: str, value: dict[str, Any]) -> None:
        self.notes[request_id, name] = orjson.dumps(value)

    async def note(self, request_id: str, name: str) -> dict[str, Any] | None:
        raw = self.notes.get((request_id, name))
        return None if raw is None else dict(orjson.loads(raw))

    async def mark_done(self, request_id: str) -> bool:
        self.completing.pop(request_id, None)
        self._open_of(request_id).pop(request_id, None)
        found = self._get(request_id)
        if found is None or found.state != "completing":
            return False
        found.state = "done"
        return True

    async def claim_expired(self, now_ms: int | None = None, limit: int = 50) -> list[Claim]:
        now = _clock_ms() if now_ms is None else now_ms
        claimed = []
        for request_id, _ in sorted(self.deadlines.items(), key=lambda d: d[1])[:limit]:
            if self.deadlines[request_id] > now:
                break
            del self.deadlines[request_id]
            found = self._get(request_id)
            if found is not None and found.state == "open":
                found.state = "completing"
                self.completing[request_id] = self._lease_until()
                claimed.append(Claim(request_id))
        for request_id, lease_until in sorted(self.completing.items(), key=lambda d: d[1])[:limit]:
            if lease_until > now:
                break
            found = self._get(request_id)
            if found is None or found.state != "completing":
                del self.completing[request_id]
                continue
            self.completing[request_id] = self._lease_until()
            claimed.append(Claim(request_id, lease_until - self.lease_ms))
        return claimed

    async def next_due_ms(self) -> int | None:
        return min([*self.deadlines.values(), *self.completing.values()], default=None)

    async def state(self, request_id: str) -> str | None:
        found = self._get(request_id)
        return None if found is None else found.state

    async def snapshot(self, request_id: str) -> GatherSnapshot | None:
        found = self._get(request_id)
        if found is None or found.request is None or found.calls is None:
            return None
        return _snapshot(found)

    async def broker_lost_at(self, seen_ms: int) -> int:
        if self.lost_at is None:
            self.lost_at = seen_ms
        return self.lost_at

    async def expire_open(self, *, received_before_ms: float, note: dict[str, Any]) -> list[str]:
        now = _clock_ms()
        expired = []
        for request_id, deadline in list(self.deadlines.items()):
            snapshot = await self.snapshot(request_id)
            if deadline <= now or snapshot is None:
                continue
            if snapshot.request.received_ms >= received_before_ms:
                continue
            if await self.expire(request_id, note):
                expired.append(request_id)
        return expired

    async def expire(self, request_id: str, note: dict[str, Any]) -> bool:
        await self.put_note(request_id, LOST_NOTE, note)
        if request_id not in self.deadlines:
            return False
        self.deadlines[request_id] = _clock_ms()
        return True

    async def close(self) -> None:
        self.closed = True


def _calls_json(calls: list[GatherCall]) -> bytes:
    return orjson.dumps([c.model_dump() for c in calls])


def _snapshot(found: _Request) -> GatherSnapshot:
    assert found.request is not None
    assert found.calls is not None
    return GatherSnapshot(
        request=GatherState.from_json(found.request),
        calls=[GatherCall.model_validate(c) for c in orjson.loads(found.calls)],
        results={k: StoredReply.model_validate(orjson.loads(v)) for k, v in found.results.items()},
    )


def as_storage(store: FakeGatherStore) -> GatherStorage:
    """The fake as the protocol the orchestrator depends on (mypy checks that it is one)."""
    return store
