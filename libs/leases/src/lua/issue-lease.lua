-- Issues a lease under the agent's current epoch, only while the agent is active.
-- KEYS: 1 agent hash, 2 agent's leases zset, 3 lease hash
-- ARGV: 1 leaseId, 2 ttl ms, 3 max lifetime ms, 4 how long to remember a dead lease (ms)
-- Returns {'ok', epoch, issuedAt, expiresAt, maxExpiresAt} | {'missing'} | {'revoked'}
local agent = redis.call('HMGET', KEYS[1], 'status', 'epoch')
if not agent[1] then
  return {'missing'}
end
if agent[1] ~= 'active' then
  return {'revoked'}
end
-- Redis' clock, not the caller's: every instance then agrees on when a lease expires.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local maxExpiresAt = now + tonumber(ARGV[3])
local expiresAt = math.min(now + tonumber(ARGV[2]), maxExpiresAt)
local forgetAt = maxExpiresAt + tonumber(ARGV[4])
redis.call('HSET', KEYS[3], 'leaseId', ARGV[1], 'epoch', agent[2], 'issuedAt', now,
  'expiresAt', expiresAt, 'maxExpiresAt', maxExpiresAt, 'ttlMs', ARGV[2])
-- The record outlives the lease so that late heartbeats hear "expired", not "invalid".
redis.call('PEXPIREAT', KEYS[3], forgetAt)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZADD', KEYS[2], forgetAt, string.sub(KEYS[3], -64))
return {'ok', agent[2], tostring(now), tostring(expiresAt), tostring(maxExpiresAt)}
