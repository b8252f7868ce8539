"""Gather state in Redis: which calls a request expects, which replies are in, its deadline.

All state lives here, none in an orchestrator's memory, so any replica can take
any reply and a crashed replica loses nothing. Each transition is one Lua
script (gather.scripts), so two replicas racing on the same request cannot
both complete it. `GatherStorage` is what the orchestrator depends on;
`GatherStore` is its Redis implementation.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Protocol, cast

import orjson
import redis.asyncio as aioredis
from pydantic import SecretStr
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

from slmesh.orchestrator.callers import unscope
from slmesh.orchestrator.gather import scripts
from slmesh.orchestrator.gather.state import GatherCall, GatherSnapshot, GatherState, StoredReply
from slmesh.runtime.redis_connection import connect_redis
from slmesh.runtime.settings import MeshSettings

MAX_CONNECTIONS = 64
# The note on a request whose tasks or replies the broker lost (expire_open).
LOST_NOTE = "lost"
# Replicas see a broker's loss of topics within a probe interval of each other.
BROKER_LOSS_WINDOW_MS = 60_000
CONNECTION_WAIT_S = 20.0


def resilient_client(settings: MeshSettings | str) -> aioredis.Redis:
    """A client that rides out a Redis restart or a network blip of about ten seconds.

    Commands are retried on connection errors with exponential backoff
    (50 ms doubling, at most 2 s, 10 times) before the error reaches the
    handler; scripts are reloaded by redis-py when a restarted server lost them.

    The pool makes a command wait for a free connection: redis-py's default
    pool raises "Too many connections" past 100, which a replica catching up
    on a backlog (64 requests and 64 replies in flight, the sweeper) reached.
    `settings`: the mesh's (URL or Sentinel, login, TLS), or a bare URL.
    """
    if isinstance(settings, str):
        settings = MeshSettings(redis_url=SecretStr(settings))
    return connect_redis(
        settings,
        blocking_pool=True,
        max_connections=MAX_CONNECTIONS,
        timeout=CONNECTION_WAIT_S,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), 10),
        retry_on_error=[RedisConnectionError, RedisTimeoutError, ConnectionResetError],
        socket_connect_timeout=2.0,
        socket_timeout=5.0,
        health_check_interval=5,
    )


class ReplyBatches:
    """Replies that arrive together are recorded in one Redis round trip.

    The replies of a fan-out come in a few fetched batches; each record's
    handler runs up to its `record` in the same turn of the event loop. The
    first one starts a flush (a task, so it runs after the others in that
    turn), and all of them go to Redis as one pipeline of the same script:
    one round trip and one connection instead of one each, for the same
    atomic transition per reply. Alone, a reply waits one turn more.
    """

    def __init__(self, client: aioredis.Redis, script: AsyncScript) -> None:
        self._redis = client
        self._script = script
        self._waiting: list[tuple[list[str], list[Any], asyncio.Future[Any]]] = []
        self._flush: asyncio.Task[None] | None = None

    async def record(self, keys: list[str], args: list[Any]) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append((keys, args, future))
        if self._flush is None:
            self._flush = asyncio.create_task(self._send(), name="gather-replies")
        return await future

    async def _send(self) -> None:
        batch, self._waiting, self._flush = self._waiting, [], None
        try:
            if len(batch) == 1:
                keys, args, _ = batch[0]
                results = [await self._script(keys=keys, args=args)]
            else:
                results = await self._pipelined(batch)
        except Exception as exc:  # the callers' retries handle it, one by one
            results = [exc] * len(batch)
        for (_, _, future), result in zip(batch, results, strict=True):
            if future.done():  # its handler was cancelled meanwhile
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def _pipelined(self, batch: list[tuple[list[str], list[Any], Any]]) -> list[Any]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for keys, args, _ in batch:
                pipe.evalsha(self._script.sha, len(keys), *keys, *args)
            results: list[Any] = await pipe.execute(raise_on_error=False)
        # A Redis that restarted has forgotten the script: those go again one by
        # one, through the script object, which loads it.
        for i, result in enumerate(results):
            if isinstance(result, NoScriptError):
                keys, args, _ = batch[i]
                results[i] = await self._script(keys=keys, args=args)
        return results


@dataclass(frozen=True)
class Opening:
    """What opening a request did, and how many requests its caller has open now.

    `refused`: the caller was at its cap, so the request was not opened; its
    refusal is claimed (as `claim_answer` claims), to be published and then
    marked `answered`.
    """

    opened: bool
    refused: bool = False
    # The caller's open requests (with this one, when opened); 0 when seen before.
    open_requests: int = 0

    @property
    def seen_before(self) -> bool:
        return not self.opened and not self.refused

    @classmethod
    def of(cls, raw: int) -> Opening:
        """From the OPEN script's answer: 0 seen before, n opened, -n refused."""
        if raw > 0:
            return cls(opened=True, open_requests=raw)
        if raw < 0:
            return cls(opened=False, refused=True, open_requests=-raw)
        return cls(opened=False)


class AnswerClaim(IntEnum):
    """Whether this caller may send the one failed response of a request."""

    CLAIMED = 1
    # Answered before (or a request with a gather state): no second response.
    ANSWERED = 0
    # Another delivery is answering it under a lease that has not run out.
    ANSWERING = -1


class ReplyOutcome(IntEnum):
    """What recording a reply did. COMPLETE means: this caller must now answer the request."""

    COMPLETE = 0
    NOT_OPEN = -1
    UNKNOWN_TASK = -2
    DUPLICATE = -3
    # No gather state at all: Redis lost it (restarted empty), or it expired.
    STATE_LOST = -4
    # The reply names another micromodel than its call went to: not counted.
    WRONG_MICROMODEL = -5
    WAITING = 1


@dataclass(frozen=True)
class Claim:
    """A request this caller now owns and must answer.

    `taken_over_since_ms` is set when another completer's lease ran out: it
    held the request from then on and may have published the answer before
    it died, so the taker looks for that answer before sending its own.
    """

    request_id: str
    taken_over_since_ms: int | None = None


class GatherStorage(Protocol):
    """The gather state of requests, shared by every replica; each transition atomic.

    A request is open (gathering), completing (one caller answers it, under a
    lease), or done; a request answered without gathering is answering, then done.
    """

    async def open(
        self,
        request_id: str,
        *,
        request: GatherState,
        calls: list[GatherCall],
        deadline_ms: int,
        max_open: int,
    ) -> Opening:
        """Start gathering, counted among its caller's open requests (the caller is the
        scoped id's: callers.unscope). Not opened when this request id was seen before (a
        redelivery), or refused when the caller already has `max_open` open."""
        ...

    async def open_requests(self, caller: str) -> int:
        """How many requests `caller` has open (not answered, not past their deadline)."""
        ...

    async def claim_answer(self, request_id: str) -> AnswerClaim:
        """Claim the one answer of a request that needs no gathering, under a lease.

        The caller publishes the answer, then calls `answered`. A redelivery,
        or a request id seen before, gets ANSWERED: no second answer.
        """
        ...

    async def answered(self, request_id: str) -> bool:
        """The claimed answer is published: remember it. False if the lease had run out."""
        ...

    async def record_reply(
        self,
        request_id: str,
        task_id: str,
        *,
        micromodel: str,
        event: bytes,
        received_ms: float,
    ) -> tuple[ReplyOutcome, GatherSnapshot | None]:
        """Count a reply (its event's bytes) once, if it is the reply of `micromodel` and
        that is the micromodel the call went to (else WRONG_MICROMODEL, nothing counted).
        On COMPLETE the snapshot to answer from comes with it, and the caller holds the
        completing lease."""
        ...

    async def extend(
        self,
        request_id: str,
        *,
        request: GatherState,
        calls: list[GatherCall],
        new_calls: list[GatherCall],
        deadline_ms: int,
    ) -> bool:
        """Open the next round of a completed request: gather `new_calls` too.

        Only the caller that completed the round (record_reply said COMPLETE)
        may extend it; False when the request is not in that state.
        """
        ...

    async def put_note(self, request_id: str, name: str, value: dict[str, Any]) -> None:
        """Keep something written for a request on the side (e.g. its answer's opening)."""
        ...

    async def note(self, request_id: str, name: str) -> dict[str, Any] | None: ...

    async def mark_done(self, request_id: str) -> bool:
        """The answer is published: end the completer's lease, and the request no longer
        counts among its caller's open ones. False if the lease had been lost."""
        ...

    async def claim_expired(self, now_ms: int | None = None, limit: int = 50) -> list[Claim]:
        """Requests this caller now owns and must answer: past their deadline, or
        completed by a replica whose lease ran out before it answered (it died)."""
        ...

    async def next_due_ms(self) -> int | None:
        """When the next deadline or completing lease runs out; None when nothing is open."""
        ...

    async def state(self, request_id: str) -> str | None:
        """open, completing, done — or None when the request is unknown (or expired)."""
        ...

    async def snapshot(self, request_id: str) -> GatherSnapshot | None: ...

    async def broker_lost_at(self, seen_ms: int) -> int:
        """When the broker's loss of topics was first seen, by any replica (this one: seen_ms)."""
        ...

    async def expire_open(self, *, received_before_ms: float, note: dict[str, Any]) -> list[str]:
        """Bring the deadline of every open request received before then to now, with a
        note saying why (the broker lost its tasks): the sweeper answers them at once."""
        ...

    async def expire(self, request_id: str, note: dict[str, Any]) -> bool:
        """Bring one open request's deadline to now, with a note saying why: the sweeper
        answers it at once. False when it is no longer waiting on its deadline."""
        ...

    async def close(self) -> None: ...


class GatherStore:
    """`GatherStorage` in Redis: a hash, a results hash and a task set per request, and two
    sorted sets for all requests (deadlines, completing leases)."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        namespace: str = "slmesh",
        ttl_s: int = 3600,
        lease_ms: int = 15_000,
    ) -> None:
        self._redis = client
        self._ns = namespace
        # Kept after completion so a redelivered request or reply is recognised
        # as a duplicate rather than starting over.
        self._ttl_ms = ttl_s * 1000
        self._deadlines = f"{namespace}:deadlines"
        self._completing = f"{namespace}:completing"
        # Longer than answering takes (opening wait + publish), or a live
        # completer would be taken over and the request answered twice.
        self._lease_ms = lease_ms
        self._open = client.register_script(scripts.OPEN)
        self._record = client.register_script(scripts.RECORD)
        self._claim = client.register_script(scripts.CLAIM)
        self._extend = client.register_script(scripts.EXTEND)
        self._reclaim = client.register_script(scripts.RECLAIM)
        self._done = client.register_script(scripts.DONE)
        self._claim_answer = client.register_script(scripts.CLAIM_ANSWER)
        self._answered = client.register_script(scripts.ANSWERED)
        self._replies = ReplyBatches(client, self._record)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> GatherStore:
        return cls(resilient_client(url), **kwargs)

    @classmethod
    def connect(cls, settings: MeshSettings, **kwargs: Any) -> GatherStore:
        """The store of the mesh `settings` name: its Redis, under its key namespace."""
        return cls(resilient_client(settings), namespace=settings.redis_namespace, **kwargs)

    async def close(self) -> None:
        await self._redis.aclose()

    def _keys(self, request_id: str) -> tuple[str, str, str]:
        base = f"{self._ns}:req:{{{request_id}}}"
        return base, f"{base}:results", f"{base}:tasks"

    def _open_key(self, caller: str) -> str:
        """The caller's open requests: a sorted set of scoped ids by deadline."""
        return f"{self._ns}:caller:{{{caller}}}:open"

    def _open_key_of(self, request_id: str) -> str:
        scoped = unscope(request_id)
        # An unscoped id (none the intake makes) counts in a set of its own.
        return self._open_key(scoped.caller if scoped is not None else request_id)

    async def open(
        self,
        request_id: str,
        *,
        request: GatherState,
        calls: list[GatherCall],
        deadline_ms: int,
        max_open: int,
    ) -> Opening:
        state, results, tasks = self._keys(request_id)
        expire_at = deadline_ms + self._ttl_ms
        raw = await self._open(
            keys=[state, results, tasks, self._deadlines, self._open_key_of(request_id)],
            args=[
                len(calls),
                request.to_json(),
                _calls_json(calls),
                deadline_ms,
                request_id,
                expire_at,
                max_open,
                int(time.time() * 1000),
                self._lease_until(),
                *_called(calls),
            ],
        )
        return Opening.of(int(raw))

    async def open_requests(self, caller: str) -> int:
        now = int(time.time() * 1000)
        return int(await self._redis.zcount(self._open_key(caller), now, "+inf"))

    async def claim_answer(self, request_id: str) -> AnswerClaim:
        state, _, _ = self._keys(request_id)
        claimed = await self._claim_answer(keys=[state], args=[self._lease_until()])
        return AnswerClaim(int(claimed))

    async def answered(self, request_id: str) -> bool:
        state, _, _ = self._keys(request_id)
        expire_at = int(time.time() * 1000) + self._ttl_ms
        return bool(await self._answered(keys=[state], args=[expire_at]))

    async def record_reply(
        self,
        request_id: str,
        task_id: str,
        *,
        micromodel: str,
        event: bytes,
        received_ms: float,
    ) -> tuple[ReplyOutcome, GatherSnapshot | None]:
        state, results, tasks = self._keys(request_id)
        keys = [state, results, tasks, self._deadlines, self._completing]
        reply = StoredReply.encode(event, received_ms)
        args = [task_id, reply, request_id, self._lease_until(), micromodel]
        raw = await self._replies.record(keys, args)
        if isinstance(raw, list):
            _, request_raw, calls_raw, flat = raw
            return ReplyOutcome.COMPLETE, _snapshot(request_raw, calls_raw, _pairs(flat))
        return ReplyOutcome(min(int(raw), 1)), None

    async def extend(
        self,
        request_id: str,
        *,
        request: GatherState,
        calls: list[GatherCall],
        new_calls: list[GatherCall],
        deadline_ms: int,
    ) -> bool:
        state, _, tasks = self._keys(request_id)
        extended = await self._extend(
            keys=[state, tasks, self._deadlines, self._completing],
            args=[
                request.to_json(),
                _calls_json(calls),
                len(new_calls),
                deadline_ms,
                request_id,
                *_called(new_calls),
            ],
        )
        return bool(extended)

    async def broker_lost_at(self, seen_ms: int) -> int:
        # The first replica to see it sets the time; the others, seconds later, must
        # not count requests taken in since then (on the new topics) as lost.
        key = f"{self._ns}:broker-lost"
        await self._redis.set(key, seen_ms, nx=True, px=BROKER_LOSS_WINDOW_MS)
        first = await self._redis.get(key)
        return int(first) if first is not None else seen_ms

    async def expire_open(self, *, received_before_ms: float, note: dict[str, Any]) -> list[str]:
        now = int(time.time() * 1000)
        # Only requests still waiting on their deadline; the completing ones are answering.
        waiting = await self._redis.zrangebyscore(self._deadlines, now, "+inf")
        expired = []
        for raw in waiting:
            rid = raw.decode() if isinstance(raw, bytes) else str(raw)
            snapshot = await self.snapshot(rid)
            if snapshot is None or snapshot.request.received_ms >= received_before_ms:
                continue
            if await self.expire(rid, note):
                expired.append(rid)
        return expired

    async def expire(self, request_id: str, note: dict[str, Any]) -> bool:
        await self.put_note(request_id, LOST_NOTE, note)
        now = int(time.time() * 1000)
        # XX: never re-add one that was answered (and left the index) meanwhile.
        return bool(await self._redis.zadd(self._deadlines, {request_id: now}, xx=True, ch=True))

    async def put_note(self, request_id: str, name: str, value: dict[str, Any]) -> None:
        state, _, _ = self._keys(request_id)
        await self._redis.set(f"{state}:{name}", orjson.dumps(value), px=self._ttl_ms)

    async def note(self, request_id: str, name: str) -> dict[str, Any] | None:
        state, _, _ = self._keys(request_id)
        raw = await self._redis.get(f"{state}:{name}")
        return None if raw is None else cast(dict[str, Any], orjson.loads(raw))

    def _lease_until(self) -> int:
        return int(time.time() * 1000) + self._lease_ms

    async def mark_done(self, request_id: str) -> bool:
        state, _, _ = self._keys(request_id)
        keys = [state, self._completing, self._open_key_of(request_id)]
        return bool(await self._done(keys=keys, args=[request_id]))

    async def claim_expired(self, now_ms: int | None = None, limit: int = 50) -> list[Claim]:
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        due = cast(
            list[bytes],
            await self._redis.zrangebyscore(self._deadlines, 0, now_ms, start=0, num=limit),
        )
        claimed = []
        for raw in due:
            request_id = raw.decode()
            state, _, _ = self._keys(request_id)
            keys = [state, self._deadlines, self._completing]
            if await self._claim(keys=keys, args=[request_id, self._lease_until()]):
                claimed.append(Claim(request_id))
        stale = cast(
            list[tuple[bytes, float]],
            await self._redis.zrangebyscore(
                self._completing, 0, now_ms, start=0, num=limit, withscores=True
            ),
        )
        for raw, lease_until in stale:
            request_id = raw.decode()
            state, _, _ = self._keys(request_id)
            keys = [state, self._completing]
            if await self._reclaim(keys=keys, args=[request_id, now_ms, self._lease_until()]):
                claimed.append(Claim(request_id, int(lease_until) - self._lease_ms))
        return claimed

    async def next_due_ms(self) -> int | None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zrange(self._deadlines, 0, 0, withscores=True)
            pipe.zrange(self._completing, 0, 0, withscores=True)
            firsts = await pipe.execute()
        due = [int(score) for first in firsts for _, score in first]
        return min(due, default=None)

    async def state(self, request_id: str) -> str | None:
        state, _, _ = self._keys(request_id)
        raw = await self._redis.hget(state, "state")
        return None if raw is None else cast(bytes, raw).decode()

    async def snapshot(self, request_id: str) -> GatherSnapshot | None:
        state, results, _ = self._keys(request_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hmget(state, "request", "calls")
            pipe.hgetall(results)
            (request_raw, calls_raw), results_raw = await pipe.execute()
        if request_raw is None or calls_raw is None:
            return None
        return _snapshot(request_raw, calls_raw, results_raw)


def _called(calls: list[GatherCall]) -> list[str]:
    """Each call's task id and the micromodel it went to, one after the other (the
    scripts' task hash)."""
    return [part for call in calls for part in (call.task_id, call.micromodel)]


def _calls_json(calls: list[GatherCall]) -> bytes:
    return orjson.dumps([call.model_dump() for call in calls])


def _pairs(flat: list[bytes]) -> dict[bytes, bytes]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _snapshot(request_raw: bytes, calls_raw: bytes, results: dict[bytes, bytes]) -> GatherSnapshot:
    return GatherSnapshot(
        request=GatherState.from_json(request_raw),
        calls=[GatherCall.model_validate(call) for call in orjson.loads(calls_raw)],
        results={k.decode(): StoredReply.model_validate_json(v) for k, v in results.items()},
    )
