"""The few wfkit operations that must be atomic next to arq's keys, each a short Lua script.

None of them claims, leases or acknowledges a job: arq's worker does that with its own keys. They
cancel jobs that have not started (arq's `abort()` would make a deferred job due at once), and
keep the counters of `@concurrency` and `@rate_limit`. The key layout is in `docs/operating.md`.
"""

from __future__ import annotations

# Cancel jobs that have not started, and items of list slices. KEYS: the arq queue (sorted set).
# ARGV: prefix, ids. A run or a slice job (`BATCH:START:END`) is deleted with its queue member,
# unless arq marks it in progress; an item (`BATCH.INDEX`) that is no job of its own is marked
# skipped in its batch while the slice job that carries it has not started. Members of the
# per-workflow index that this leaves behind are dropped when the index is next read.
# Returns how many runs were cancelled.
CANCEL = """
local q, p = KEYS[1], ARGV[1]
local function pending(id)
  return redis.call('ZSCORE', q, id) and redis.call('EXISTS', 'arq:in-progress:'..id) == 0
end
local function drop(id)
  redis.call('ZREM', q, id)
  redis.call('DEL', 'arq:job:'..id, 'arq:retry:'..id, p..':journal:'..id)
end
local n = 0
for i = 2, #ARGV do
  local id = ARGV[i]
  local bid, s, e = string.match(id, '^(.*):(%d+):(%d+)$')
  if bid then
    if pending(id) then
      s, e = tonumber(s), tonumber(e)
      local left = e - s
      for _, x in ipairs(redis.call('SMEMBERS', p..':batch:'..bid..':skip')) do
        local k = tonumber(x)
        if k >= s and k < e then left = left - 1 end
      end
      drop(id)
      local bkey = p..':batch:'..bid
      redis.call('ZREM', bkey..':slices', id)
      if redis.call('ZCARD', bkey..':slices') == 0 then redis.call('DEL', bkey, bkey..':skip') end
      n = n + left
    end
  elseif pending(id) then
    drop(id)
    n = n + 1
  else
    local bid2, idx = string.match(id, '^(.*)%.(%d+)$')
    if bid2 and not redis.call('ZSCORE', q, id) then
      idx = tonumber(idx)
      local cover = redis.call('ZREVRANGEBYSCORE', p..':batch:'..bid2..':slices', idx, '-inf', 'LIMIT', 0, 1)
      if #cover == 1 then
        local last = tonumber(string.match(cover[1], ':(%d+)$'))
        if idx < last and pending(cover[1]) then
          n = n + redis.call('SADD', p..':batch:'..bid2..':skip', idx)
        end
      end
    end
  end
end
return n
"""

# At most `limit` runs of one concurrency key at once. KEYS: the key; ARGV: id, limit, now_ms, deadline_ms.
ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
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
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return at
"""
