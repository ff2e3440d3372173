-- Checks a lease against its agent and, with ARGV[1] == 'renew', extends it by its TTL
-- (never past its maximum lifetime). One script, so a revocation can never slip between the
-- check and the renewal. ARGV[1] == 'describe' (introspection) also answers the agent's
-- allowedActions and owner, which heartbeats and the guard do not need.
-- KEYS: 1 agent hash, 2 lease hash
-- ARGV: 1 'renew' | 'peek' | 'describe'
-- Returns {'active', leaseId, epoch, issuedAt, expiresAt, maxExpiresAt[, allowedActions, owner]}
--       | {'revoked', reason, revokedAt, incidentId} | {'expired', expiresAt} | {'invalid'}
local lease = redis.call('HMGET', KEYS[2], 'leaseId', 'epoch', 'issuedAt', 'expiresAt',
  'maxExpiresAt', 'ttlMs', 'revokedAt', 'revokeReason', 'incidentId')
if not lease[1] then
  return {'invalid'}
end
local agent = redis.call('HMGET', KEYS[1], 'status', 'epoch', 'revokedAt', 'revokeReason',
  'incidentId')
if not agent[1] then
  return {'invalid'}
end
if lease[7] then
  return {'revoked', lease[8] or '', lease[7], lease[9] or ''}
end
if agent[1] ~= 'active' or agent[2] ~= lease[2] then
  -- Fenced by a newer epoch even if this lease was not marked (issued during the revocation).
  return {'revoked', agent[4] or 'superseded by a newer epoch', agent[3] or '', agent[5] or ''}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiresAt = tonumber(lease[4])
if now >= expiresAt then
  return {'expired', lease[4]}
end
if ARGV[1] == 'renew' then
  local renewed = math.min(now + tonumber(lease[6]), tonumber(lease[5]))
  if renewed > expiresAt then
    expiresAt = renewed
    redis.call('HSET', KEYS[2], 'expiresAt', expiresAt)
  end
end
if ARGV[1] == 'describe' then
  local described = redis.call('HMGET', KEYS[1], 'allowedActions', 'owner')
  return {'active', lease[1], lease[2], lease[3], tostring(expiresAt), lease[5],
    described[1] or '[]', described[2] or ''}
end
return {'active', lease[1], lease[2], lease[3], tostring(expiresAt), lease[5]}
