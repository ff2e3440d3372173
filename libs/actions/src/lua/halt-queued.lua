-- Halts up to ARGV[2] of an agent's queued (not yet released) actions that were submitted
-- under an epoch that is no longer live. Batched so that no single call holds Redis for long,
-- whatever the queue's length; actions of a newer epoch (after a reinstatement) stay queued.
-- Released actions that have not started yet (waiting in the worker queue) are halted too, so
-- that nothing of a revoked agent is left "queued" once its follow-up is done; their jobs then
-- find them halted and do nothing.
-- KEYS: 1 agent hash, 2 pending list, 3 running set
-- ARGV: 1 action key prefix (without the id), 2 batch size, 3 events channel, 4 detail,
--       5 retention ms, 6 follow-up key prefix (without the incident id)
-- Returns {halted, examined}
local agent = redis.call('HMGET', KEYS[1], 'status', 'epoch', 'incidentId')
local ids = redis.call('LRANGE', KEYS[2], 0, tonumber(ARGV[2]) - 1)
local released = redis.call('SMEMBERS', KEYS[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local agentId = string.match(KEYS[1], '{(.-)}')
local halted = 0
local function halt(id, key, actionType)
  redis.call('HSET', key, 'status', 'halted', 'updatedAt', now, 'finishedAt', now,
    'error', ARGV[4])
  redis.call('RPUSH', key .. ':history', cjson.encode({status = 'halted', at = now,
    detail = ARGV[4]}))
  redis.call('PEXPIRE', key, ARGV[5])
  redis.call('PEXPIRE', key .. ':history', ARGV[5])
  redis.call('PUBLISH', ARGV[3], cjson.encode({event = 'action.updated', agentId = agentId,
    actionId = id, type = actionType, status = 'halted', at = now}))
  halted = halted + 1
end
for _, id in ipairs(ids) do
  local key = ARGV[1] .. id
  local action = redis.call('HMGET', key, 'status', 'epoch', 'type')
  local stale = agent[1] ~= 'active' or action[2] ~= agent[2]
  if not action[1] or stale then
    redis.call('LREM', KEYS[2], 1, id)
  end
  if action[1] == 'queued' and stale then
    halt(id, key, action[3])
  end
end
for _, id in ipairs(released) do
  local key = ARGV[1] .. id
  local action = redis.call('HMGET', key, 'status', 'epoch', 'type')
  if action[1] == 'queued' and (agent[1] ~= 'active' or action[2] ~= agent[2]) then
    redis.call('SREM', KEYS[3], id)
    halt(id, key, action[3])
  end
end
if halted > 0 and agent[3] and agent[3] ~= '' then
  redis.call('HINCRBY', ARGV[6] .. agent[3], 'halted', halted)
end
return {halted, #ids}
