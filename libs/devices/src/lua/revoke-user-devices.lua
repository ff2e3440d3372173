-- Deletes every device credential of a user, and the pairing codes the user has not used yet,
-- at once (an admin cutting off a user's phones).
-- KEYS: 1 user's devices hash, 2 user's live pairing codes (sorted set, at most a few)
-- ARGV: 1 device key prefix (without the hash), 2 pairing code key prefix (without the hash)
-- Returns the ids of the devices deleted
local devices = redis.call('HGETALL', KEYS[1])
local ids = {}
for i = 1, #devices, 2 do
  redis.call('DEL', ARGV[1] .. devices[i + 1])
  table.insert(ids, devices[i])
end
for _, codeHash in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  redis.call('DEL', ARGV[2] .. codeHash)
end
redis.call('DEL', KEYS[1], KEYS[2])
return ids
