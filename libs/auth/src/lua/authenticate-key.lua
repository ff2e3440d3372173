-- Resolves an API key hash to its user in one round trip (this runs on every API call).
-- KEYS: 1 apikey hash. ARGV: 1 user key prefix (the key name without the id)
local userId = redis.call('HGET', KEYS[1], 'userId')
if not userId then
  return nil
end
return redis.call('HMGET', ARGV[1] .. userId, 'id', 'name', 'role', 'createdAt')
