-- Trades a pairing code for a device credential: the code is consumed in the same step, so it
-- can be used once, by one phone. The address's failed attempts are checked and counted in the
-- same step too: read, try and count as separate calls let parallel guesses all pass the check
-- before any of them was counted (839 tries of 1,000 parallel ones, where 10 are allowed).
-- KEYS: 1 pairing code (named by its hash), 2 device hash, 3 the address's failed attempts
-- ARGV: 1 deviceId, 2 device name, 3 createdAt ISO, 4 token hash, 5 user key prefix,
--       6 failed attempts allowed per window, 7 window (s), 8 the code's hash
-- The user's keys are named from ARGV: they carry the same `{auth}` tag, so the same slot.
-- Returns {'paired', userId} | {'wrong'} (unknown, spent, or its user deleted; counted) |
--   {'limited', seconds until the window ends} (nothing tried)
local failures = tonumber(redis.call('GET', KEYS[3]) or '0')
if failures >= tonumber(ARGV[6]) then
  return {'limited', redis.call('TTL', KEYS[3])}
end
local function wrong()
  redis.call('INCR', KEYS[3])
  -- The window starts at the first failure and is not pushed back by later ones.
  redis.call('EXPIRE', KEYS[3], ARGV[7], 'NX')
  return {'wrong'}
end
local userId = redis.call('GET', KEYS[1])
if not userId then
  return wrong()
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', ARGV[5] .. userId .. ':pairing-codes', ARGV[8])
if redis.call('EXISTS', ARGV[5] .. userId) == 0 then
  return wrong()
end
redis.call('HSET', KEYS[2], 'deviceId', ARGV[1], 'userId', userId, 'name', ARGV[2],
  'createdAt', ARGV[3])
redis.call('HSET', ARGV[5] .. userId .. ':devices', ARGV[1], ARGV[4])
return {'paired', userId}
