-- Deletes every device credential of a user, at once (an admin cutting off a user's phones).
-- KEYS: 1 user's devices hash. ARGV: 1 device key prefix (without the hash)
-- Returns the ids of the devices deleted
local pairs_ = redis.call('HGETALL', KEYS[1])
local ids = {}
for i = 1, #pairs_, 2 do
  redis.call('DEL', ARGV[1] .. pairs_[i + 1])
  table.insert(ids, pairs_[i])
end
redis.call('DEL', KEYS[1])
return ids
