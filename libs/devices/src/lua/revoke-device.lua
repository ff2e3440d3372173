-- Deletes one device credential of a user.
-- KEYS: 1 user's devices hash. ARGV: 1 deviceId, 2 device key prefix (without the hash)
local hash = redis.call('HGET', KEYS[1], ARGV[1])
if not hash then
  return 0
end
redis.call('DEL', ARGV[2] .. hash)
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
