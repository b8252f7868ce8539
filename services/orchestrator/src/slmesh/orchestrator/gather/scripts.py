"""The Lua scripts of the gather store: each transition of a request's gather state is one.

Redis runs a script atomically, so two replicas racing on the same request
cannot both complete it. KEYS and ARGV are listed above each script; the
store (gather.store) passes them.
"""

# The tasks key is a hash: each call's task id -> the micromodel it went to, so
# that a reply is counted only from the micromodel its call went to. A state
# written before (a rolling upgrade) has a set of task ids there: its replies
# are checked by task id alone, and its next round's tasks join that set.

# Opening counts the request among its caller's open ones (a sorted set by
# deadline: one past its deadline no longer counts, one answered leaves it at
# DONE). Over the caller's cap it is not opened: its refusal is claimed under
# a lease instead (as CLAIM_ANSWER), so a redelivery neither counts it twice
# nor answers it twice. Returns 0 seen before, n > 0 opened (n open now), -n
# refused (n open).
# KEYS: state, results, tasks, deadlines, open (the caller's)
# ARGV: pending, request, calls, deadline_ms, request_id, expire_at_ms, max_open, now_ms,
#       lease_until_ms, then each call's task id and micromodel
OPEN = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', '(' .. ARGV[8])
local open = redis.call('ZCARD', KEYS[5])
if open >= tonumber(ARGV[7]) then
  redis.call('HSET', KEYS[1], 'state', 'answering')
  redis.call('PEXPIREAT', KEYS[1], ARGV[9])
  return -open
end
redis.call('HSET', KEYS[1], 'state', 'open', 'pending', ARGV[1])
redis.call('HSET', KEYS[1], 'request', ARGV[2], 'calls', ARGV[3])
if #ARGV > 9 then redis.call('HSET', KEYS[3], unpack(ARGV, 10)) end
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[5])
redis.call('PEXPIREAT', KEYS[1], ARGV[6])
redis.call('PEXPIREAT', KEYS[3], ARGV[6])
redis.call('ZADD', KEYS[5], ARGV[4], ARGV[5])
-- The set outlives its last member's deadline, never a later one's.
if redis.call('PTTL', KEYS[5]) < tonumber(ARGV[4]) - tonumber(ARGV[8]) then
  redis.call('PEXPIREAT', KEYS[5], ARGV[4])
end
return open + 1
"""

# Returns -5 for a reply naming another micromodel than its call went to:
# checked before the state, so it is told for as long as the request is known.
# KEYS: state, results, tasks, deadlines, completing
# ARGV: task_id, reply, request_id, lease_until_ms, micromodel
RECORD = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -4 end
local called
if redis.call('TYPE', KEYS[3]).ok == 'set' then
  if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1 then called = ARGV[5] end
else
  called = redis.call('HGET', KEYS[3], ARGV[1])
end
if called and called ~= ARGV[5] then return -5 end
if redis.call('HGET', KEYS[1], 'state') ~= 'open' then return -1 end
if not called then return -2 end
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
# ARGV: request, calls, pending, deadline_ms, request_id,
#       then each new call's task id and micromodel
EXTEND = """
if redis.call('HGET', KEYS[1], 'state') ~= 'completing' then return 0 end
redis.call('ZREM', KEYS[4], ARGV[5])
redis.call('HSET', KEYS[1], 'state', 'open', 'pending', ARGV[3])
redis.call('HSET', KEYS[1], 'request', ARGV[1], 'calls', ARGV[2])
if redis.call('TYPE', KEYS[2]).ok == 'set' then
  for i = 6, #ARGV, 2 do redis.call('SADD', KEYS[2], ARGV[i]) end
elseif #ARGV > 5 then
  redis.call('HSET', KEYS[2], unpack(ARGV, 6))
end
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
return 1
"""

# KEYS: state, deadlines, completing; ARGV: request_id, lease_until_ms
CLAIM = """
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('HGET', KEYS[1], 'state') ~= 'open' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'completing')
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 1
"""

# A completer's lease ran out before it answered: take the request over.
# KEYS: state, completing; ARGV: request_id, now_ms, lease_until_ms
RECLAIM = """
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) then return 0 end
if redis.call('HGET', KEYS[1], 'state') ~= 'completing' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
"""

# The answer is out: the request no longer counts among its caller's open ones.
# KEYS: state, completing, open (the caller's); ARGV: request_id
DONE = """
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('HGET', KEYS[1], 'state') ~= 'completing' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'done')
return 1
"""


# A request with nothing to gather (rejected, unplannable, its state lost)
# gets one failed response. It is claimed under a lease, published, and only
# then marked done: a crash in between lets the lease run out, and the
# redelivered record answers it.
# KEYS: state; ARGV: lease_until_ms
CLAIM_ANSWER = """
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'answering' then return -1 end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'state', 'answering')
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
"""

# KEYS: state; ARGV: expire_at_ms
ANSWERED = """
if redis.call('HGET', KEYS[1], 'state') ~= 'answering' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'done')
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
"""
