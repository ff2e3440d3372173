-- Claims a succeeded action for rollback before its compensation is sent. A claim that exists
-- without an outcome means an earlier run died mid-compensation: the caller must not send it
-- again (it may have been applied), so the compensation runs at most once, ever. A claim of
-- another incident (a later stop whose window takes in an action an earlier stop is still
-- compensating) is that incident's to settle: this one leaves the action alone.
-- A granted claim answers the action's undo (its compensation's params), read in the same step:
-- no read can then fail between claim and send. A refused one answers without it: an undo may
-- be a megabyte.
-- KEYS: 1 action hash. ARGV: 1 incidentId
-- Returns {'claimed', undo ('' when none)} | {'interrupted'} | {'elsewhere'} | {'not_eligible'}
local action = redis.call('HMGET', KEYS[1], 'status', 'rollbackClaim')
if action[1] ~= 'succeeded' then
  return {'not_eligible'}
end
if action[2] then
  return {action[2] == ARGV[1] and 'interrupted' or 'elsewhere'}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], 'rollbackClaim', ARGV[1], 'rollbackStartedAt', now)
return {'claimed', redis.call('HGET', KEYS[1], 'undo') or ''}
