#!lua flags=allow-cross-slot-keys
-- Lets a revoked agent act again under a new epoch. Leases issued before stay dead: they
-- carry the old epoch and their own revocation mark.
-- Refused while the stop that revoked it is still being recorded (stop-state.lua): a fan-out
-- finishing that stop after a crash would fence the agent again. Checked here, in the same step
-- as the reinstatement, so that no fence of that stop can land between the check and the write.
-- The reinstatement goes on that incident's timeline in the same step: a separate write after
-- it could be lost for good (a retry finds the agent active, and answers 409).
-- The incident is in another slot: on Redis Cluster the flag above allows it on the same node.
-- KEYS: 1 agent hash, 2 the hash of the incident the caller read on the agent, 3 its timeline
-- ARGV: 1 reason, 2 reinstatedBy, 3 events channel, 4 that incident's id ('' if none),
--       5 how long after the fence an incident not written yet may still be (ms),
--       6 the timeline entry (JSON, without its time and outcome, which this adds)
-- Returns {'active', epoch, reinstatedAt, incidentId of the revocation it ends}
--       | {'not_revoked', epoch} | {'missing'} | {'recording', incidentId}
--       | {'moved'} (revoked by another incident since the caller read it: read it again)
--- @include "stop-state.lua"
local agent = redis.call('HMGET', KEYS[1], 'status', 'epoch', 'incidentId', 'revokedAt')
if not agent[1] then
  return {'missing'}
end
if agent[1] ~= 'revoked' then
  return {'not_revoked', agent[2]}
end
local incidentId = agent[3] or ''
local stop, now = agent_stop(KEYS[2], ARGV[4], agent[3], agent[4], ARGV[5])
if stop == 'moved' then
  return {'moved'}
end
if stop == 'recording' then
  return {'recording', incidentId}
end
local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
redis.call('HSET', KEYS[1], 'status', 'active', 'reinstatedAt', now, 'reinstateReason', ARGV[1],
  'reinstatedBy', ARGV[2])
redis.call('HDEL', KEYS[1], 'revokedAt', 'revokeReason', 'revokedBy', 'incidentId')
redis.call('PUBLISH', ARGV[3], cjson.encode({event = 'agent.updated',
  agentId = string.match(KEYS[1], '{(.-)}'), status = 'active', epoch = epoch}))
if incidentId ~= '' and redis.call('EXISTS', KEYS[2]) == 1 then
  local entry = cjson.decode(ARGV[6])
  entry.at = now
  entry.outcome = 'agent active again at epoch ' .. epoch
  redis.call('RPUSH', KEYS[3], cjson.encode(entry))
  redis.call('PUBLISH', ARGV[3], cjson.encode({event = 'incident.updated',
    incidentId = incidentId, step = 'reinstate'}))
end
return {'active', tostring(epoch), tostring(now), incidentId}
