-- One token-bucket decision, atomic (a script runs alone on the server).
-- KEYS[1]: the bucket, a hash {tokens, ts}; a missing bucket is a full one.
-- ARGV[1]: capacity; ARGV[2]: refill rate, tokens per second; ARGV[3]: the longest TTL, ms.
-- Returns {allowed (1 or 0), whole tokens left, ms until the next whole token (0 when full)}.
-- The clock is the server's (TIME), so the workers' clocks do not matter.

-- Before Redis 5 a script that reads TIME must ask for its effects to be replicated.
if redis.replicate_commands then redis.replicate_commands() end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2]) -- microseconds
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local max_ttl = tonumber(ARGV[3])

local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
else
  tokens = math.min(capacity, tokens + math.max(0, now - ts) / 1000000 * rate)
end

local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end

-- Rounded up, forgiving the last bits of floating-point error (as algorithm.rs does).
local whole = math.floor(tokens)
local reset = 0
if tokens < capacity then
  reset = math.max(0, math.ceil((whole + 1 - tokens) / rate * 1000 - 0.000001))
end

redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
-- Once it would be full again the bucket may go: missing means full.
local ttl = math.ceil((capacity - tokens) / rate * 1000)
redis.call('PEXPIRE', KEYS[1], math.max(1, math.min(max_ttl, ttl)))
return {allowed, whole, reset}
