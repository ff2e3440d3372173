-- Records a new action at the end of its agent's queue, and releases the head of that queue to
-- the worker queue while the agent runs fewer actions than its concurrency allows.
-- KEYS: 1 agent, 2 action, 3 history, 4 agent's actions zset, 5 pending list, 6 running set,
--       7 idempotency key (only when there is one)
-- ARGV: 1 actionId, 2 lease epoch, 3 type, 4 params JSON, 5 idempotency key or '',
--       6 default concurrency, 7 events channel, 8 ledger length kept per agent,
--       9 action key prefix (without the id), 10 most actions the agent may have queued or
--       running
-- Returns {'ok', released...} | {'existing', actionId, status} | {'full', queued or running}
--       | {'revoked', revokedAt, incidentId, reason} ('' where unknown) | {'invalid'}
--       | {'forbidden'} (the type is not in the agent's allowedActions)
--- @include "gate.lua"
local agent = redis.call('HMGET', KEYS[1], 'status', 'epoch', 'concurrency', 'allowedActions')
if not agent[1] then
  return {'invalid'}
end
if agent[1] ~= 'active' or agent[2] ~= ARGV[2] then
  -- What a heartbeat would answer, so that the runtime learns why and in which incident.
  local why = redis.call('HMGET', KEYS[1], 'revokedAt', 'incidentId', 'revokeReason')
  return {'revoked', why[1] or '', why[2] or '', why[3] or ''}
end
local allowed = false
for _, type in ipairs(cjson.decode(agent[4] or '[]')) do
  if type == ARGV[3] then
    allowed = true
  end
end
if not allowed then
  return {'forbidden'}
end
if ARGV[5] ~= '' then
  local existing = redis.call('GET', KEYS[7])
  if existing then
    return {'existing', existing, redis.call('HGET', ARGV[9] .. existing, 'status') or 'unknown'}
  end
end
-- Bounded per agent: each action may carry 64 KiB of params, and an agent flooding its queue
-- (faster than its tool server answers) would otherwise fill Redis, where every stop is written.
local live = redis.call('LLEN', KEYS[5]) + redis.call('SCARD', KEYS[6])
if live >= tonumber(ARGV[10]) then
  return {'full', tostring(live)}
end
local now = now_ms()
local seq = redis.call('HINCRBY', KEYS[1], 'actionSeq', 1)
local agentId = string.match(KEYS[1], '{(.-)}')
redis.call('HSET', KEYS[2], 'id', ARGV[1], 'agentId', agentId, 'type', ARGV[3],
  'params', ARGV[4], 'status', 'queued', 'epoch', ARGV[2], 'seq', seq, 'attempts', 0,
  'submittedAt', now, 'updatedAt', now, 'idempotencyKey', ARGV[5])
redis.call('RPUSH', KEYS[3], cjson.encode({status = 'queued', at = now}))
redis.call('ZADD', KEYS[4], seq, ARGV[1])
if ARGV[5] ~= '' then
  redis.call('SET', KEYS[7], ARGV[1], 'PX', 86400000)
end
redis.call('RPUSH', KEYS[5], ARGV[1])
-- Bounded ledger: forget the oldest entries beyond the configured length.
local excess = redis.call('ZCARD', KEYS[4]) - tonumber(ARGV[8])
if excess > 0 then
  for _, old in ipairs(redis.call('ZRANGE', KEYS[4], 0, excess - 1)) do
    if not is_live(redis.call('HGET', ARGV[9] .. old, 'status')) then
      redis.call('DEL', ARGV[9] .. old, ARGV[9] .. old .. ':history')
      redis.call('ZREM', KEYS[4], old)
    end
  end
end
publish_update(ARGV[7], agentId, ARGV[1], ARGV[3], 'queued', now)
local reply = {'ok'}
for _, id in ipairs(release_next(KEYS[1], KEYS[6], KEYS[5], ARGV[6])) do
  table.insert(reply, id)
end
return reply
