-- Marks, for the record, the leases an agent held when it was revoked (the fence itself
-- already made them dead: their epoch is behind the agent's). Leases issued under a later
-- epoch (after a reinstatement) are left alone. Safe to run again.
-- KEYS: 1 agent's leases zset
-- ARGV: 1 lease key prefix (key name without the hash), 2 the epoch that was revoked,
--       3 revokedAt, 4 reason, 5 incidentId
-- Returns how many leases were marked
local marked = 0
for _, hash in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local lease = ARGV[1] .. hash
  local state = redis.call('HMGET', lease, 'epoch', 'revokedAt')
  if not state[1] then
    redis.call('ZREM', KEYS[1], hash)
  elseif tonumber(state[1]) <= tonumber(ARGV[2]) then
    if not state[2] then
      redis.call('HSET', lease, 'revokedAt', ARGV[3], 'revokeReason', ARGV[4], 'incidentId',
        ARGV[5])
      marked = marked + 1
    end
    redis.call('ZREM', KEYS[1], hash)
  end
end
return marked
