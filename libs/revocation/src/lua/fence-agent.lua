-- THE stop: marks the agent revoked, bumps its epoch and marks every lease revoked, in one
-- atomic step. From the moment this returns, heartbeats, introspection and the action gate
-- refuse the agent, because each of them reads these same keys.
-- KEYS: 1 agent hash, 2 agent's leases zset
-- ARGV: 1 reason, 2 revokedBy, 3 incidentId, 4 lease key prefix (key name without the hash),
--       5 events channel, 6 '1' to publish agent.updated here (bulk revocations publish it
--       from their follow-up instead, keeping this script small)
-- Returns {'revoked', epoch, revokedAt} | {'already', epoch, revokedAt, reason, incidentId}
--       | {'missing'}
local agent = redis.call('HMGET', KEYS[1], 'status', 'epoch', 'revokedAt', 'revokeReason',
  'incidentId')
if not agent[1] then
  return {'missing'}
end
if agent[1] == 'revoked' then
  return {'already', agent[2], agent[3] or '', agent[4] or '', agent[5] or ''}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
redis.call('HSET', KEYS[1], 'status', 'revoked', 'revokedAt', now, 'revokeReason', ARGV[1],
  'revokedBy', ARGV[2], 'incidentId', ARGV[3])
-- Marking each lease (not only bumping the epoch) keeps them dead after a reinstatement.
-- Lease keys share the agent's hash tag, so they live in this script's slot.
for _, hash in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local lease = ARGV[4] .. hash
  if redis.call('EXISTS', lease) == 1 then
    redis.call('HSET', lease, 'revokedAt', now, 'revokeReason', ARGV[1], 'incidentId', ARGV[3])
  end
end
redis.call('DEL', KEYS[2])
if ARGV[6] == '1' then
  redis.call('PUBLISH', ARGV[5], cjson.encode({event = 'agent.updated',
    agentId = string.match(KEYS[1], '{(.-)}'), status = 'revoked', epoch = epoch,
    revokedAt = now, revokeReason = ARGV[1], incidentId = ARGV[3]}))
end
return {'revoked', tostring(epoch), tostring(now)}
