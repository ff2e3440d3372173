-- Records how an action ended and releases the agent's next queued action(s). Idempotent: a
-- worker that crashed after this ran re-runs the job, gets the same released ids back, and
-- re-adds their jobs (deterministic job ids make that a no-op).
-- KEYS: 1 agent, 2 action, 3 history, 4 running set, 5 pending list
-- ARGV: 1 final status ('succeeded' | 'failed' | 'aborted' | 'retrying'), 2 result JSON or '',
--       3 undo JSON or '', 4 error or '', 5 events channel, 6 retention ms,
--       7 default concurrency, 8 for an abort: the follow-up counts of the incident that asked
--       for it (not the agent's current one, which a reinstatement and a new stop may have
--       changed since), else ''
-- Returns {'ok', released...}
--- @include "gate.lua"
local action = redis.call('HMGET', KEYS[2], 'status', 'type', 'agentId', 'released')
local actionId = string.match(KEYS[2], ':action:(.+)$')
if not action[1] then
  return {'ok'}
end
if not is_live(action[1]) then
  local reply = {'ok'}
  if action[4] and action[4] ~= '' then
    for id in string.gmatch(action[4], '[^,]+') do
      table.insert(reply, id)
    end
  end
  return reply
end
local now = now_ms()
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
elseif ARGV[1] == 'succeeded' then
  -- An earlier attempt's error (kept in the history) is not this action's outcome.
  redis.call('HDEL', KEYS[2], 'error')
end
redis.call('RPUSH', KEYS[3], cjson.encode(entry))
publish_update(ARGV[5], action[3], actionId, action[2], ARGV[1], now)
if ARGV[1] == 'retrying' then
  return {'ok'}
end
redis.call('HSET', KEYS[2], 'finishedAt', now)
redis.call('PEXPIRE', KEYS[2], ARGV[6])
redis.call('PEXPIRE', KEYS[3], ARGV[6])
redis.call('SREM', KEYS[4], actionId)
if ARGV[1] == 'aborted' and ARGV[8] ~= '' then
  redis.call('HINCRBY', ARGV[8], 'aborted', 1)
end
local released = release_next(KEYS[1], KEYS[4], KEYS[5], ARGV[7])
-- Kept so that a re-run of this finish (after a crash) answers the same release.
redis.call('HSET', KEYS[2], 'released', table.concat(released, ','))
local reply = {'ok'}
for _, id in ipairs(released) do
  table.insert(reply, id)
end
return reply
