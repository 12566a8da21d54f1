-- One sliding-window decision, atomic (a script runs alone on the server).
-- KEYS[1]: the log, a sorted set of the counted requests scored by their time (microseconds).
-- ARGV[1]: max requests; ARGV[2]: the window, microseconds; ARGV[3]: a unique member name.
-- Returns {allowed (1 or 0), requests left, ms until the oldest counted request leaves the
-- window (0 when none is counted)}. The clock is the server's (TIME).

-- Before Redis 5 a script that reads TIME must ask for its effects to be replicated.
if redis.replicate_commands then redis.replicate_commands() end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local max_requests = tonumber(ARGV[1])
local window = tonumber(ARGV[2])

-- A request made at t is counted while now < t + window.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < max_requests then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  count = count + 1
  allowed = 1
end

local reset = 0
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if oldest[2] then
  reset = math.max(0, math.ceil((tonumber(oldest[2]) + window - now) / 1000))
end

-- Every counted request has left the window by then.
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
return {allowed, max_requests - count, reset}
