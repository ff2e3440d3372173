-- Claims a succeeded action for rollback before its compensation is sent. A claim that exists
-- without an outcome means an earlier run died mid-compensation: the caller must not send it
-- again (it may have been applied), so the compensation runs at most once, ever.
-- KEYS: 1 action hash. ARGV: 1 incidentId
-- Returns 'claimed' | 'interrupted' | 'not_eligible'
local action = redis.call('HMGET', KEYS[1], 'status', 'rollbackClaim')
if action[1] ~= 'succeeded' then
  return 'not_eligible'
end
if action[2] then
  return 'interrupted'
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], 'rollbackClaim', ARGV[1], 'rollbackStartedAt', now)
return 'claimed'
