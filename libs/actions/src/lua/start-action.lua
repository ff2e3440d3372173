-- THE fence at job start: an action runs only if its agent is active and still at the epoch
-- the action was submitted under. Checked and marked running in one step, so no revocation
-- can land between the check and the start.
-- An action is run by one job at a time: the job that marked it running (its own, or the job
-- of the action before it, which runs the agent's next actions inline) records itself as the
-- runner, and only that job may start it again (its re-run after a crash). Any other job for
-- it (a sweep, a duplicate) finds it 'running' and does nothing.
-- KEYS: 1 agent, 2 action, 3 history, 4 running set, 5 pending list
-- ARGV: 1 attempt number, 2 events channel, 3 follow-up key prefix (without the incident id),
--       4 runner (the job's id), 5 retention ms, 6 default concurrency
-- Returns {'run', type, params, epoch} | {'halted', released...} (not run: halted, or aborted
--       if this job had started it before its worker stopped) | {'done', status}
--       | {'gone', released...}
--- @include "gate.lua"
local action = redis.call('HMGET', KEYS[2], 'status', 'type', 'params', 'epoch', 'agentId',
  'runner')
local actionId = string.match(KEYS[2], ':action:(.+)$')
if not action[1] then
  redis.call('SREM', KEYS[4], actionId)
  local reply = {'gone'}
  for _, id in ipairs(release_next(KEYS[1], KEYS[4], KEYS[5], ARGV[6])) do
    table.insert(reply, id)
  end
  return reply
end
local status = action[1]
if not is_live(status) or (status == 'running' and action[6] and action[6] ~= ARGV[4]) then
  return {'done', status}
end
local now = now_ms()
local agent = redis.call('HMGET', KEYS[1], 'status', 'epoch', 'incidentId')
if agent[1] ~= 'active' or agent[2] ~= action[4] then
  -- Counted on the stop that revoked the action's epoch (fence-agents.lua keeps it), not the
  -- agent's current one: a reinstatement and a new stop may have come since.
  local stop = redis.call('HGET', KEYS[1], 'stoppedBy:' .. action[4]) or agent[3]
  if status == 'running' then
    -- This job's own re-run of an action it had started, whose worker stopped (died, or lost
    -- Redis past its lock) mid-run: the tool server may have done it, in part or whole. Not
    -- halted (never started) but aborted, so that its stop counts it and lists it for review.
    local detail = 'its worker stopped while running it, then its agent was revoked: it may ' ..
      'have partly happened'
    if not agent[1] then
      detail = 'its worker stopped while running it, then its agent was deleted: it may have ' ..
        'partly happened'
    end
    end_action(KEYS[2], 'aborted', action[5], actionId, action[2], detail, now, ARGV[5],
      ARGV[2])
    if stop and stop ~= '' then
      redis.call('HINCRBY', ARGV[3] .. stop, 'aborted', 1)
    end
  else
    local detail = 'agent revoked before the action started'
    if not agent[1] then
      detail = 'agent deleted before the action started'
    end
    end_action(KEYS[2], 'halted', action[5], actionId, action[2], detail, now, ARGV[5], ARGV[2])
    if stop and stop ~= '' then
      redis.call('HINCRBY', ARGV[3] .. stop, 'halted', 1)
    end
  end
  redis.call('SREM', KEYS[4], actionId)
  -- A reinstated agent's newer actions wait behind this one: release them. Kept on it, as a
  -- finish keeps its release, so that the job's re-run after a crash (which finds it halted)
  -- adds their jobs again.
  local released = release_next(KEYS[1], KEYS[4], KEYS[5], ARGV[6])
  redis.call('HSET', KEYS[2], 'released', table.concat(released, ','))
  local reply = {'halted'}
  for _, id in ipairs(released) do
    table.insert(reply, id)
  end
  return reply
end
redis.call('HSET', KEYS[2], 'status', 'running', 'attempts', ARGV[1], 'updatedAt', now,
  'startedAt', now, 'runner', ARGV[4])
redis.call('RPUSH', KEYS[3], cjson.encode({status = 'running', at = now,
  detail = 'attempt ' .. ARGV[1]}))
publish_update(ARGV[2], action[5], actionId, action[2], 'running', now)
return {'run', action[2], action[3], action[4]}
