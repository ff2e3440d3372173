-- Creates the bootstrap admin only if no admin exists yet, so that two instances starting at
-- once cannot both mint one.
-- KEYS: 1 admins set, 2 users zset, 3 user hash, 4 apikey hash, 5 user's apikeys set
-- ARGV: 1 userId, 2 name, 3 createdAt ISO, 4 createdAt ms, 5 key hash
if redis.call('SCARD', KEYS[1]) > 0 then
  return 0
end
redis.call('HSET', KEYS[3], 'id', ARGV[1], 'name', ARGV[2], 'role', 'admin', 'createdAt', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[4], 'userId', ARGV[1], 'createdAt', ARGV[3])
redis.call('SADD', KEYS[5], ARGV[5])
return 1
