-- THE fence at job start: an action runs only if its agent is active and still at the epoch
-- the action was submitted under. Checked and marked running in one step, so no revocation
-- can land between the check and the start.
-- KEYS: 1 agent, 2 action, 3 history, 4 running set
-- ARGV: 1 attempt number, 2 events channel, 3 follow-up key prefix (without the incident id)
-- Returns {'run', type, params, epoch} | {'halted'} | {'done', status} | {'gone'}
local action = redis.call('HMGET', KEYS[2], 'status', 'type', 'params', 'epoch', 'agentId')
if not action[1] then
  redis.call('SREM', KEYS[4], string.match(KEYS[2], ':action:(.+)$'))
  return {'gone'}
end
local status = action[1]
if status ~= 'queued' and status ~= 'retrying' and status ~= 'running' then
  return {'done', status}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local agent = redis.call('HMGET', KEYS[1], 'status', 'epoch', 'incidentId')
local actionId = string.match(KEYS[2], ':action:(.+)$')
if agent[1] ~= 'active' or agent[2] ~= action[4] then
  local detail = 'agent revoked before the action started'
  if not agent[1] then
    detail = 'agent deleted before the action started'
  end
  redis.call('HSET', KEYS[2], 'status', 'halted', 'updatedAt', now, 'finishedAt', now,
    'error', detail)
  redis.call('RPUSH', KEYS[3], cjson.encode({status = 'halted', at = now, detail = detail}))
  redis.call('SREM', KEYS[4], actionId)
  if agent[3] and agent[3] ~= '' then
    redis.call('HINCRBY', ARGV[3] .. agent[3], 'halted', 1)
  end
  redis.call('PUBLISH', ARGV[2], cjson.encode({event = 'action.updated', agentId = action[5],
    actionId = actionId, type = action[2], status = 'halted', at = now}))
  return {'halted'}
end
redis.call('HSET', KEYS[2], 'status', 'running', 'attempts', ARGV[1], 'updatedAt', now,
  'startedAt', now)
redis.call('RPUSH', KEYS[3], cjson.encode({status = 'running', at = now,
  detail = 'attempt ' .. ARGV[1]}))
redis.call('PUBLISH', ARGV[2], cjson.encode({event = 'action.updated', agentId = action[5],
  actionId = actionId, type = action[2], status = 'running', at = now}))
return {'run', action[2], action[3], action[4]}
