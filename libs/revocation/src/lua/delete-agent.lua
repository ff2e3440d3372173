#!lua flags=allow-cross-slot-keys
-- Deletes an agent's record and its lease index, only once it is revoked and its stop is over
-- (stop-state.lua): stopping an agent (halting its queue, aborting what runs, rolling back what
-- it did) goes through a revocation, never around one, and deleting it mid-stop would skip the
-- follow-up's halts, rollbacks and report. Checked here, in the same step as the delete, so
-- that a reinstatement and a new stop in between cannot let an agent be deleted mid-stop.
-- The incident is in another slot: on Redis Cluster the flag above allows it on the same node.
-- KEYS: 1 agent hash, 2 leases zset, 3 the hash of the incident the caller read on the agent
-- ARGV: 1 that incident's id ('' if none), 2 how long after the fence an incident not written
--       yet may still be (ms)
-- Returns {'deleted'} | {'active'} | {'missing'} | {'stopping', incidentId}
--       | {'moved'} (revoked by another incident since the caller read it: read it again)
--- @include "stop-state.lua"
local agent = redis.call('HMGET', KEYS[1], 'status', 'incidentId', 'revokedAt')
if not agent[1] then
  return {'missing'}
end
if agent[1] ~= 'revoked' then
  return {'active'}
end
local stop = agent_stop(KEYS[3], ARGV[1], agent[2], agent[3], ARGV[2])
if stop == 'moved' then
  return {'moved'}
end
if stop ~= 'done' then
  return {'stopping', agent[2]}
end
redis.call('UNLINK', KEYS[1], KEYS[2])
return {'deleted'}
