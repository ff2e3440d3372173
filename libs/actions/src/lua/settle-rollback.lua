-- Records the outcome of a rollback (once: only a succeeded action can be settled) and counts
-- it on the incident's follow-up record of the agent.
-- KEYS: 1 action hash, 2 history, 3 agent's follow-up hash for the incident
-- ARGV: 1 'rolled_back' | 'rollback_failed', 2 detail, 3 events channel
-- Returns 1 when settled now, 0 when it already was
local action = redis.call('HMGET', KEYS[1], 'status', 'agentId', 'type')
if action[1] ~= 'succeeded' then
  return 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updatedAt', now, 'rolledBackAt', now,
  'rollbackDetail', ARGV[2])
redis.call('RPUSH', KEYS[2], cjson.encode({status = ARGV[1], at = now, detail = ARGV[2]}))
if ARGV[1] == 'rolled_back' then
  redis.call('HINCRBY', KEYS[3], 'rolledBack', 1)
end
redis.call('PUBLISH', ARGV[3], cjson.encode({event = 'action.updated', agentId = action[2],
  actionId = string.match(KEYS[1], ':action:(.+)$'), type = action[3], status = ARGV[1],
  at = now}))
return 1
