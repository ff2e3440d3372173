-- Marks, for the record, the leases an agent held when it was revoked (the fence itself
-- already made them dead: their epoch is behind the agent's). Leases issued under a later
-- epoch (after a reinstatement) are left alone. Safe to run again.
-- One batch per call, from a position in the agent's leases: an owner may have issued very
-- many (100,000 took one unbounded call 600 ms, with every other Redis client waiting).
-- KEYS: 1 agent's leases zset
-- ARGV: 1 lease key prefix (key name without the hash), 2 the epoch that was revoked,
--       3 revokedAt, 4 reason, 5 incidentId, 6 position to start from, 7 batch size
-- Returns {marked, next position, or -1 when this batch was the last}
local marked = 0
local kept = 0
local batch = redis.call('ZRANGE', KEYS[1], ARGV[6], tonumber(ARGV[6]) + tonumber(ARGV[7]) - 1)
for _, hash in ipairs(batch) do
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
  else
    kept = kept + 1
  end
end
if #batch < tonumber(ARGV[7]) then
  return {marked, -1}
end
-- Those removed shifted the rest down: the next batch starts after the ones kept.
return {marked, tonumber(ARGV[6]) + kept}
