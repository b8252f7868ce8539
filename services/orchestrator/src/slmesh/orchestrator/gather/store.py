"""Gather state in Redis: which calls a request expects, which replies are in, its deadline.

All state lives here, none in an orchestrator's memory, so any replica can take
any reply and a crashed replica loses nothing. Each transition is one Lua
script, so two replicas racing on the same request cannot both complete it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, cast

import orjson
import redis.asyncio as aioredis
from redis.asyncio.connection import BlockingConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# KEYS: state, results, tasks, deadlines
# ARGV: pending, request, calls, deadline_ms, request_id, expire_at_ms, task ids...
_OPEN = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'state', 'open', 'pending', ARGV[1])
redis.call('HSET', KEYS[1], 'request', ARGV[2], 'calls', ARGV[3])
for i = 7, #ARGV do redis.call('SADD', KEYS[3], ARGV[i]) end
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[5])
redis.call('PEXPIREAT', KEYS[1], ARGV[6])
redis.call('PEXPIREAT', KEYS[3], ARGV[6])
return 1
"""

# KEYS: state, results, tasks, deadlines, completing
# ARGV: task_id, reply, request_id, lease_until_ms
_RECORD = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -4 end
if redis.call('HGET', KEYS[1], 'state') ~= 'open' then return -1 end
if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 0 then return -2 end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then return -3 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
local pending = redis.call('HINCRBY', KEYS[1], 'pending', -1)
if pending <= 0 then
  -- The completer holds a lease until it has published the answer (mark_done);
  -- if it dies first, a sweeper takes the request over when the lease ends.
  redis.call('HSET', KEYS[1], 'state', 'completing')
  redis.call('ZREM', KEYS[4], ARGV[3])
  redis.call('ZADD', KEYS[5], ARGV[4], ARGV[3])
  -- Hand the completer everything it needs to answer, saving a round trip.
  local state = redis.call('HMGET', KEYS[1], 'request', 'calls')
  return {0, state[1], state[2], redis.call('HGETALL', KEYS[2])}
end
return pending
"""

# KEYS: state, tasks, deadlines, completing
# ARGV: request, calls, pending, deadline_ms, request_id, new task ids...
_EXTEND = """
if redis.call('HGET', KEYS[1], 'state') ~= 'completing' then return 0 end
redis.call('ZREM', KEYS[4], ARGV[5])
redis.call('HSET', KEYS[1], 'state', 'open', 'pending', ARGV[3])
redis.call('HSET', KEYS[1], 'request', ARGV[1], 'calls', ARGV[2])
for i = 6, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
return 1
"""

# KEYS: state, deadlines, completing; ARGV: request_id, lease_until_ms
_CLAIM = """
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('HGET', KEYS[1], 'state') ~= 'open' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'completing')
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 1
"""

# A completer's lease ran out before it answered: take the request over.
# KEYS: state, completing; ARGV: request_id, now_ms, lease_until_ms
_RECLAIM = """
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) then return 0 end
if redis.call('HGET', KEYS[1], 'state') ~= 'completing' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
"""

# KEYS: state, completing; ARGV: request_id
_DONE = """
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('HGET', KEYS[1], 'state') ~= 'completing' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'done')
return 1
"""


# A request with nothing to gather (rejected, unplannable, its state lost)
# gets one failed response. It is claimed under a lease, published, and only
# then marked done: a crash in between lets the lease run out, and the
# redelivered record answers it.
# KEYS: state; ARGV: lease_until_ms
_CLAIM_ANSWER = """
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'answering' then return -1 end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'state', 'answering')
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
"""

# KEYS: state; ARGV: expire_at_ms
_ANSWERED = """
if redis.call('HGET', KEYS[1], 'state') ~= 'answering' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'done')
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
"""


MAX_CONNECTIONS = 64
CONNECTION_WAIT_S = 20.0


def resilient_client(url: str) -> aioredis.Redis:
    """A client that rides out a Redis restart or a network blip of about ten seconds.

    Commands are retried on connection errors with exponential backoff
    (50 ms doubling, at most 2 s, 10 times) before the error reaches the
    handler; scripts are reloaded by redis-py when a restarted server lost them.

    The pool makes a command wait for a free connection: redis-py's default
    pool raises "Too many connections" past 100, which a replica catching up
    on a backlog (64 requests and 64 replies in flight, the sweeper) reached.
    """
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=CONNECTION_WAIT_S,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), 10),
        retry_on_error=[RedisConnectionError, RedisTimeoutError, ConnectionResetError],
        socket_connect_timeout=2.0,
        socket_timeout=5.0,
        health_check_interval=5,
    )
    return aioredis.Redis.from_pool(pool)


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


@dataclass(frozen=True)
class GatherSnapshot:
    request: dict[str, Any]
    calls: list[dict[str, Any]]
    results: dict[str, dict[str, Any]]


class GatherStore:
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
        self._open = client.register_script(_OPEN)
        self._record = client.register_script(_RECORD)
        self._claim = client.register_script(_CLAIM)
        self._extend = client.register_script(_EXTEND)
        self._reclaim = client.register_script(_RECLAIM)
        self._done = client.register_script(_DONE)
        self._claim_answer = client.register_script(_CLAIM_ANSWER)
        self._answered = client.register_script(_ANSWERED)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> GatherStore:
        return cls(resilient_client(url), **kwargs)

    async def close(self) -> None:
        await self._redis.aclose()

    def _keys(self, request_id: str) -> tuple[str, str, str]:
        base = f"{self._ns}:req:{{{request_id}}}"
        return base, f"{base}:results", f"{base}:tasks"

    async def open(
        self,
        request_id: str,
        *,
        request: dict[str, Any],
        calls: list[dict[str, Any]],
        deadline_ms: int,
    ) -> bool:
        """Start gathering. False when this request id was seen before (a redelivery)."""
        state, results, tasks = self._keys(request_id)
        expire_at = deadline_ms + self._ttl_ms
        opened = await self._open(
            keys=[state, results, tasks, self._deadlines],
            args=[
                len(calls),
                orjson.dumps(request),
                orjson.dumps(calls),
                deadline_ms,
                request_id,
                expire_at,
                *(c["task_id"] for c in calls),
            ],
        )
        return bool(opened)

    async def claim_answer(self, request_id: str) -> AnswerClaim:
        """Claim the one answer of a request that needs no gathering, under a lease.

        The caller publishes the answer, then calls `answered`. A redelivery,
        or a request id seen before, gets ANSWERED: no second answer.
        """
        state, _, _ = self._keys(request_id)
        claimed = await self._claim_answer(keys=[state], args=[self._lease_until()])
        return AnswerClaim(int(claimed))

    async def answered(self, request_id: str) -> bool:
        """The claimed answer is published: remember it. False if the lease had run out."""
        state, _, _ = self._keys(request_id)
        expire_at = int(time.time() * 1000) + self._ttl_ms
        return bool(await self._answered(keys=[state], args=[expire_at]))

    async def record_reply(
        self, request_id: str, task_id: str, reply: dict[str, Any]
    ) -> tuple[ReplyOutcome, GatherSnapshot | None]:
        """Count a reply once. On COMPLETE the snapshot to answer from comes with it."""
        state, results, tasks = self._keys(request_id)
        raw = await self._record(
            keys=[state, results, tasks, self._deadlines, self._completing],
            args=[task_id, orjson.dumps(reply), request_id, self._lease_until()],
        )
        if isinstance(raw, list):
            _, request_raw, calls_raw, flat = raw
            return ReplyOutcome.COMPLETE, _snapshot(request_raw, calls_raw, _pairs(flat))
        return ReplyOutcome(min(int(raw), 1)), None

    async def extend(
        self,
        request_id: str,
        *,
        request: dict[str, Any],
        calls: list[dict[str, Any]],
        new_calls: list[dict[str, Any]],
        deadline_ms: int,
    ) -> bool:
        """Open the next round of a completed request: gather `new_calls` too.

        Only the caller that completed the round (record_reply said COMPLETE)
        may extend it; False when the request is not in that state.
        """
        state, _, tasks = self._keys(request_id)
        extended = await self._extend(
            keys=[state, tasks, self._deadlines, self._completing],
            args=[
                orjson.dumps(request),
                orjson.dumps(calls),
                len(new_calls),
                deadline_ms,
                request_id,
                *(c["task_id"] for c in new_calls),
            ],
        )
        return bool(extended)

    async def put_note(self, request_id: str, name: str, value: dict[str, Any]) -> None:
        """Keep something written for a request on the side (e.g. its answer's opening)."""
        state, _, _ = self._keys(request_id)
        await self._redis.set(f"{state}:{name}", orjson.dumps(value), px=self._ttl_ms)

    async def note(self, request_id: str, name: str) -> dict[str, Any] | None:
        state, _, _ = self._keys(request_id)
        raw = await self._redis.get(f"{state}:{name}")
        return None if raw is None else cast(dict[str, Any], orjson.loads(raw))

    def _lease_until(self) -> int:
        return int(time.time() * 1000) + self._lease_ms

    async def mark_done(self, request_id: str) -> bool:
        """The answer is published: end the completer's lease. False if it had lost it."""
        state, _, _ = self._keys(request_id)
        return bool(await self._done(keys=[state, self._completing], args=[request_id]))

    async def claim_expired(self, now_ms: int | None = None, limit: int = 50) -> list[Claim]:
        """Requests this caller now owns and must answer: past their deadline, or
        completed by a replica whose lease ran out before it answered (it died)."""
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
        """When the next deadline or completing lease runs out; None when nothing is open."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zrange(self._deadlines, 0, 0, withscores=True)
            pipe.zrange(self._completing, 0, 0, withscores=True)
            firsts = await pipe.execute()
        due = [int(score) for first in firsts for _, score in first]
        return min(due, default=None)

    async def state(self, request_id: str) -> str | None:
        """open, completing, done — or None when the request is unknown (or expired)."""
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


def _pairs(flat: list[bytes]) -> dict[bytes, bytes]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _snapshot(request_raw: bytes, calls_raw: bytes, results: dict[bytes, bytes]) -> GatherSnapshot:
    return GatherSnapshot(
        request=orjson.loads(request_raw),
        calls=orjson.loads(calls_raw),
        results={k.decode(): orjson.loads(v) for k, v in results.items()},
    )
