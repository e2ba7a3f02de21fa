-- GCRA for one key, on Redis's clock so that instances need no synchronised clocks.
-- KEYS[1]: the key; it holds the theoretical arrival time (TAT, microseconds): the
-- budget is full when the TAT is not in the future.
-- ARGV: the interval in which one request's share comes back (microseconds), the burst
-- (requests at once), the cost of this check (1 ..= burst).
-- Returns {allowed (1 or 0), remaining, microseconds until full, microseconds until
-- this check would be allowed (0 when it was)}.
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now) or now
if tat < now then
  tat = now
end
local capacity = interval * burst
local next_tat = tat + interval * cost
local allowed_at = next_tat - capacity
if allowed_at > now then
  return {0, math.floor((now + capacity - tat) / interval), tat - now, allowed_at - now}
end
-- Kept a little past the moment the budget is full again (then it is the same as none).
local ttl_ms = math.ceil((next_tat - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', ttl_ms)
return {1, math.floor((now + capacity - next_tat) / interval), next_tat - now, 0}
