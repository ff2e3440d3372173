-- Deletes an agent's record and its lease index, only once it is revoked: stopping an agent
-- (halting its queue, aborting what runs, rolling back what it did) goes through a revocation,
-- never around one. Checked here, not before, so that a reinstatement in between cannot let an
-- active agent be deleted.
-- KEYS: 1 agent hash, 2 leases zset
-- Returns 'deleted' | 'active' | 'missing'
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return 'missing'
end
if status ~= 'revoked' then
  return 'active'
end
redis.call('UNLINK', KEYS[1], KEYS[2])
return 'deleted'
