-- Stores a pairing code (its SHA-256) for a user, and lists it under the user, so that revoking the user's
-- devices voids the codes not used yet too.
-- KEYS: 1 pairing code, 2 user's pairing codes (set)
-- ARGV: 1 userId, 2 the code's hash, 3 lifetime (seconds)
-- Returns 1, or 0 if the code is taken (the caller draws another)
if redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3], 'NX') == false then
  return 0
end
redis.call('SADD', KEYS[2], ARGV[2])
-- The set lives as long as its newest code.
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
