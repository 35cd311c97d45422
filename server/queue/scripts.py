"""The queue's Redis operations, each one atomic Lua script (one round trip, whatever its size).

Keys, under a prefix P (default `wf`):
  P:due       ZSET   run id → due time (ms); `@BATCH` → the due time of the batch's next item
  P:runs      HASH   run id → payload (JSON; `@BATCH|ROW` for a claimed item of a batch)
  P:active    ZSET   run id → lease deadline (ms): claimed by a worker, renewed while it runs
  P:crashes   HASH   run id → how often its lease ran out (a worker died running it)
  P:fails     HASH   run id → failed attempts so far (@retry)
  P:idx:WF    SET    ids and `@BATCH`es of workflow WF not finished yet
  P:batch:B   HASH   meta (JSON), n, next (cursor), start, every (ms), done, dropped
  P:batch:B:rows LIST per-item argument rows not claimed yet, in order (popped as claimed)
  P:batch:B:skip SET  indexes cancelled before they were claimed
  P:origin:R  STRING the runs scheduled by run R were submitted (a retried R submits nothing again)
  P:once:K    STRING a recurring tick K was submitted (one run per tick, however many tickers)
  P:paused    STRING present while the scheduler is paused: nothing is claimed
"""

from __future__ import annotations

# Shared by the scripts: finish one item of a batch; drop the batch once every item is accounted for.
_BATCH_HELPERS = """
local function batch_settle(p, bid)
  local bkey = p..':batch:'..bid
  local b = redis.call('HMGET', bkey, 'n', 'next', 'done', 'dropped', 'meta')
  if not b[1] then return end
  local n, nxt, done, dropped = tonumber(b[1]), tonumber(b[2]), tonumber(b[3]), tonumber(b[4])
  if nxt >= n and done + dropped >= n then
    local wf = cjson.decode(b[5])['w']
    redis.call('DEL', bkey, bkey..':rows', bkey..':skip')
    redis.call('SREM', p..':idx:'..wf, '@'..bid)
  end
end
local function batch_of(payload)
  if string.sub(payload, 1, 1) ~= '@' then return nil end
  local bar = string.find(payload, '|', 1, true)
  return string.sub(payload, 2, bar - 1)
end
local function workflow_of(p, payload)
  local bid = batch_of(payload)
  if bid then
    local meta = redis.call('HGET', p..':batch:'..bid, 'meta')
    if not meta then return nil, bid end
    return cjson.decode(meta)['w'], bid
  end
  return cjson.decode(payload)['w'], nil
end
-- drop a run's state; `settle`: it counts as done for its batch, or leaves its workflow's index
local function forget_run(p, id, payload, settle)
  redis.call('HDEL', p..':runs', id)
  redis.call('HDEL', p..':crashes', id)
  redis.call('HDEL', p..':fails', id)
  redis.call('HDEL', p..':ratepass', id)
  redis.call('DEL', p..':journal:'..id)
  if settle and payload then
    local wf, bid = workflow_of(p, payload)
    if bid then
      redis.call('HINCRBY', p..':batch:'..bid, 'done', 1)
      batch_settle(p, bid)
    elseif wf then
      redis.call('SREM', p..':idx:'..wf, id)
    end
  end
end
"""

# ARGV: prefix, origin, once, ttl_s, n_single, [id, due_ms, workflow, payload]*, [bid, start, every, n, wf, meta]*
SUBMIT = """
local p = ARGV[1]
if ARGV[2] ~= '' and not redis.call('SET', p..':origin:'..ARGV[2], '1', 'NX', 'EX', ARGV[4]) then return -1 end
if ARGV[3] ~= '' and not redis.call('SET', p..':once:'..ARGV[3], '1', 'NX', 'EX', ARGV[4]) then return -1 end
local singles = tonumber(ARGV[5])
local n = 0
local i = 6
for _ = 1, singles do
  local id = ARGV[i]
  if redis.call('HSETNX', p..':runs', id, ARGV[i+3]) == 1 then
    redis.call('ZADD', p..':due', ARGV[i+1], id)
    redis.call('SADD', p..':idx:'..ARGV[i+2], id)
    n = n + 1
  end
  i = i + 4
end
while i <= #ARGV do
  local bid, start, every, count, wf, meta = ARGV[i], ARGV[i+1], ARGV[i+2], ARGV[i+3], ARGV[i+4], ARGV[i+5]
  local bkey = p..':batch:'..bid
  if redis.call('EXISTS', bkey) == 0 then
    redis.call('HSET', bkey, 'meta', meta, 'n', count, 'next', 0, 'start', start, 'every', every,
      'done', 0, 'dropped', 0)
    redis.call('ZADD', p..':due', start, '@'..bid)
    redis.call('SADD', p..':idx:'..wf, '@'..bid)
    n = n + tonumber(count) - redis.call('SCARD', bkey..':skip')
  end
  i = i + 6
end
return n
"""

# A debounced run replaces the pending run of its key (a burst becomes one run, the last arguments).
# ARGV: prefix, debounce key, ttl_ms, id, due_ms, workflow, payload. Returns 1 when it replaced one.
DEBOUNCE = (
    _BATCH_HELPERS
    + """
local p = ARGV[1]
local dkey = p..':deb:'..ARGV[2]
local old = redis.call('GET', dkey)
local replaced = 0
if old and redis.call('ZREM', p..':due', old) == 1 then
  local payload = redis.call('HGET', p..':runs', old)
  redis.call('HDEL', p..':runs', old)
  redis.call('HDEL', p..':crashes', old)
  redis.call('HDEL', p..':fails', old)
  if payload then
    local wf = workflow_of(p, payload)
    if wf then redis.call('SREM', p..':idx:'..wf, old) end
  end
  replaced = 1
end
redis.call('SET', dkey, ARGV[4], 'PX', ARGV[3])
if redis.call('HSETNX', p..':runs', ARGV[4], ARGV[7]) == 1 then
  redis.call('ZADD', p..':due', ARGV[5], ARGV[4])
  redis.call('SADD', p..':idx:'..ARGV[6], ARGV[4])
end
return replaced
"""
)

# ARGV: prefix, now_ms, limit, lease_ms. Returns {paused, next_due_ms or -1, [id, payload, crashes, fails]*}.
CLAIM = (
    _BATCH_HELPERS
    + """
local p, now, limit, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local function next_due()
  local head = redis.call('ZRANGE', p..':due', 0, 0, 'WITHSCORES')
  if #head == 0 then return -1 end
  return tonumber(head[2])
end
if redis.call('EXISTS', p..':paused') == 1 then return {1, next_due()} end
local expired = redis.call('ZRANGEBYSCORE', p..':active', '-inf', now, 'LIMIT', 0, 200)
for _, id in ipairs(expired) do  -- its worker died (or stalled past its lease): run it again
  redis.call('ZREM', p..':active', id)
  redis.call('ZADD', p..':due', now, id)
  redis.call('HINCRBY', p..':crashes', id, 1)
end
local out = {0, 0}
local got = 0
local deadline = now + lease
while got < limit do
  local head = redis.call('ZRANGEBYSCORE', p..':due', '-inf', now, 'LIMIT', 0, limit - got)
  if #head == 0 then break end
  for _, m in ipairs(head) do
    if got >= limit then break end
    if string.sub(m, 1, 1) == '@' then
      local bid = string.sub(m, 2)
      local bkey = p..':batch:'..bid
      local b = redis.call('HMGET', bkey, 'next', 'n', 'start', 'every')
      if not b[1] then
        redis.call('ZREM', p..':due', m)
      else
        local nxt, n, start, every = tonumber(b[1]), tonumber(b[2]), tonumber(b[3]), tonumber(b[4])
        local upto = n
        if every > 0 then upto = math.min(n, math.floor((now - start) / every) + 1) end
        upto = math.max(math.min(upto, nxt + limit - got), math.min(nxt + 1, n))  -- due: at least one
        local take = upto - nxt
        local rows = {}
        local has_rows = redis.call('EXISTS', bkey..':rows') == 1
        if take > 0 and has_rows then rows = redis.call('LPOP', bkey..':rows', take) end
        local dropped = 0
        for k = 0, take - 1 do
          local idx = nxt + k
          if redis.call('SREM', bkey..':skip', idx) == 1 then
            dropped = dropped + 1
          else
            local id = bid..'.'..idx
            local row = ''
            if has_rows then row = rows[k + 1] end
            local payload = '@'..bid..'|'..row
            redis.call('HSET', p..':runs', id, payload)
            redis.call('ZADD', p..':active', deadline, id)
            table.insert(out, id)
            table.insert(out, payload)
            table.insert(out, 0)
            table.insert(out, 0)
            got = got + 1
          end
        end
        redis.call('HSET', bkey, 'next', upto)
        if dropped > 0 then redis.call('HINCRBY', bkey, 'dropped', dropped) end
        if upto >= n then
          redis.call('ZREM', p..':due', m)
          batch_settle(p, bid)
        else
          redis.call('ZADD', p..':due', start + every * upto, m)
        end
      end
    else
      redis.call('ZREM', p..':due', m)
      local payload = redis.call('HGET', p..':runs', m)
      if payload then
        redis.call('ZADD', p..':active', deadline, m)
        table.insert(out, m)
        table.insert(out, payload)
        table.insert(out, tonumber(redis.call('HGET', p..':crashes', m) or '0'))
        table.insert(out, tonumber(redis.call('HGET', p..':fails', m) or '0'))
        got = got + 1
      end
    end
  end
end
out[2] = next_due()
return out
"""
)

# The runs are finished (their records are saved). ARGV: prefix, [id, concurrency key or '']*.
ACK = (
    _BATCH_HELPERS
    + """
local p = ARGV[1]
local n = 0
for i = 2, #ARGV, 2 do
  local id = ARGV[i]
  local mine = redis.call('ZREM', p..':active', id) + redis.call('ZREM', p..':due', id)
  local payload = redis.call('HGET', p..':runs', id)
  forget_run(p, id, payload, mine > 0)
  if ARGV[i+1] ~= '' then redis.call('ZREM', ARGV[i+1], id) end
  if mine > 0 and payload then
    n = n + 1
  end
end
return n
"""
)

# Put a claimed run back, due at `due_ms` (a retry after a failure, or a wait for a concurrency
# slot or a rate limit). ARGV: prefix, id, due_ms, count as a failure (0/1), concurrency key or ''.
REQUEUE = """
local p, id = ARGV[1], ARGV[2]
if ARGV[5] ~= '' then redis.call('ZREM', ARGV[5], id) end
if redis.call('ZREM', p..':active', id) == 0 then return 0 end
redis.call('ZADD', p..':due', ARGV[3], id)
if ARGV[4] == '1' then redis.call('HINCRBY', p..':fails', id, 1) end
return 1
"""

# Cancel runs that have not started. ARGV: prefix, id*. Returns how many were cancelled.
CANCEL = (
    _BATCH_HELPERS
    + """
local p = ARGV[1]
local n = 0
for i = 2, #ARGV do
  local id = ARGV[i]
  if redis.call('ZREM', p..':due', id) == 1 then
    forget_run(p, id, redis.call('HGET', p..':runs', id), true)
    n = n + 1
  else
    local dot = string.find(id, '.', 1, true)
    if dot then
      local bid, idx = string.sub(id, 1, dot - 1), tonumber(string.sub(id, dot + 1))
      local b = redis.call('HMGET', p..':batch:'..bid, 'next', 'n')
      if b[1] and idx and idx >= tonumber(b[1]) and idx < tonumber(b[2]) then
        n = n + redis.call('SADD', p..':batch:'..bid..':skip', idx)
      end
    end
  end
end
return n
"""
)

# Cancel every item of a batch not claimed yet. ARGV: prefix, batch id. Returns how many.
CANCEL_BATCH = (
    _BATCH_HELPERS
    + """
local p, bid = ARGV[1], ARGV[2]
local bkey = p..':batch:'..bid
local b = redis.call('HMGET', bkey, 'next', 'n')
if not b[1] then return 0 end
local nxt, n = tonumber(b[1]), tonumber(b[2])
local left = n - nxt - redis.call('SCARD', bkey..':skip')
redis.call('HSET', bkey, 'next', n)
redis.call('HINCRBY', bkey, 'dropped', n - nxt)
redis.call('DEL', bkey..':rows', bkey..':skip')
redis.call('ZREM', p..':due', '@'..bid)
batch_settle(p, bid)
return left
"""
)

# At most `limit` runs of one concurrency key at once. KEYS: the key; ARGV: id, limit, now_ms, deadline_ms.
ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
  return 1
end
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
  return 1
end
return 0
"""

# A rate limit as a generic cell rate algorithm with reservations: every run gets the next free
# slot, so excess runs wait their turn and none is dropped. KEYS: the key, the pass hash.
# ARGV: id, now_ms, interval_ms, burst_ms, ttl_ms. Returns 0 (run now) or the ms to start at.
RATE = """
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
local now, interval, burst = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', ARGV[5])
local at = tat - burst
if at <= now then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], '1')
return at
"""
