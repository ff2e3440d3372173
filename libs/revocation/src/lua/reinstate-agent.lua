-- Lets a revoked agent act again under a new epoch. Leases issued before stay dead: they
-- carry the old epoch and their own revocation mark.
-- KEYS: 1 agent hash. ARGV: 1 reason, 2 reinstatedBy, 3 events channel
-- Returns {'active', epoch, reinstatedAt, incidentId of the revocation it ends}
--       | {'not_revoked', epoch} | {'missing'}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return {'missing'}
end
if status ~= 'revoked' then
  return {'not_revoked', redis.call('HGET', KEYS[1], 'epoch')}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local incidentId = redis.call('HGET', KEYS[1], 'incidentId') or ''
local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
redis.call('HSET', KEYS[1], 'status', 'active', 'reinstatedAt', now, 'reinstateReason', ARGV[1],
  'reinstatedBy', ARGV[2])
redis.call('HDEL', KEYS[1], 'revokedAt', 'revokeReason', 'revokedBy', 'incidentId')
redis.call('PUBLISH', ARGV[3], cjson.encode({event = 'agent.updated',
  agentId = string.match(KEYS[1], '{(.-)}'), status = 'active', epoch = epoch}))
return {'active', tostring(epoch), tostring(now), incidentId}
