-- Records how an action ended and releases the agent's next queued action(s). Idempotent: a
-- worker that crashed after this ran re-runs the job, gets the same released ids back, and
-- re-adds their jobs (deterministic job ids make that a no-op).
-- KEYS: 1 agent, 2 action, 3 history, 4 running set, 5 pending list
-- ARGV: 1 final status ('succeeded' | 'failed' | 'aborted' | 'retrying'), 2 result JSON or '',
--       3 undo JSON or '', 4 error or '', 5 events channel, 6 retention ms,
--       7 default concurrency, 8 follow-up key prefix (without the incident id)
-- Returns {'ok', released...}
local action = redis.call('HMGET', KEYS[2], 'status', 'type', 'agentId', 'released')
local actionId = string.match(KEYS[2], ':action:(.+)$')
if not action[1] then
  return {'ok'}
end
local status = action[1]
local terminal = status ~= 'queued' and status ~= 'running' and status ~= 'retrying'
if terminal then
  local reply = {'ok'}
  if action[4] and action[4] ~= '' then
    for id in string.gmatch(action[4], '[^,]+') do
      table.insert(reply, id)
    end
  end
  return reply
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[2], 'status', ARGV[1], 'updatedAt', now)
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[2], 'result', ARGV[2])
end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[2], 'undo', ARGV[3])
end
local entry = {status = ARGV[1], at = now}
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[2], 'error', ARGV[4])
  entry.detail = ARGV[4]
end
redis.call('RPUSH', KEYS[3], cjson.encode(entry))
redis.call('PUBLISH', ARGV[5], cjson.encode({event = 'action.updated', agentId = action[3],
  actionId = actionId, type = action[2], status = ARGV[1], at = now}))
if ARGV[1] == 'retrying' then
  return {'ok'}
end
redis.call('HSET', KEYS[2], 'finishedAt', now)
redis.call('PEXPIRE', KEYS[2], ARGV[6])
redis.call('PEXPIRE', KEYS[3], ARGV[6])
redis.call('SREM', KEYS[4], actionId)
local reply = {'ok'}
local agent = redis.call('HMGET', KEYS[1], 'status', 'concurrency', 'incidentId')
if ARGV[1] == 'aborted' and agent[3] and agent[3] ~= '' then
  redis.call('HINCRBY', ARGV[8] .. agent[3], 'aborted', 1)
end
if agent[1] == 'active' then
  local concurrency = tonumber(agent[2] or ARGV[7])
  local released = {}
  while redis.call('SCARD', KEYS[4]) < concurrency do
    local nextId = redis.call('LPOP', KEYS[5])
    if not nextId then
      break
    end
    redis.call('SADD', KEYS[4], nextId)
    table.insert(reply, nextId)
    table.insert(released, nextId)
  end
  redis.call('HSET', KEYS[2], 'released', table.concat(released, ','))
end
return reply
