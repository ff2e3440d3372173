-- Trades a pairing code for a device credential: the code is consumed in the same step, so it
-- can be used once, by one phone.
-- KEYS: 1 pairing code, 2 device hash
-- ARGV: 1 deviceId, 2 device name, 3 createdAt ISO, 4 token hash, 5 user key prefix
-- The user's keys are named from ARGV: they carry the same `{auth}` tag, so the same slot.
-- Returns userId | false when the code is unknown or spent
local userId = redis.call('GET', KEYS[1])
if not userId then
  return false
end
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', ARGV[5] .. userId) == 0 then
  return false
end
redis.call('HSET', KEYS[2], 'deviceId', ARGV[1], 'userId', userId, 'name', ARGV[2],
  'createdAt', ARGV[3])
redis.call('HSET', ARGV[5] .. userId .. ':devices', ARGV[1], ARGV[4])
return userId
