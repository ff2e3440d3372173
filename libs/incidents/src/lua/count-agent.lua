-- Brings an incident's counts up to one agent's follow-up counts so far (exact counters kept
-- beside the agent's actions), adding only what was not added before: the counts already
-- added for an agent still following up are kept in the progress hash, so a step reported
-- twice (a retried job) adds nothing. Counters never go down. `final` (the agent's report)
-- drops the agent's entry instead of keeping it: nothing is added for it after that. Returns
-- whether a count moved.
local COUNTED = {'halted', 'aborted', 'rolledBack'}
local function count_agent(incident, progress, agentId, counts, final)
  local before = {0, 0, 0}
  local kept = redis.call('HGET', progress, agentId)
  if kept then
    local i = 1
    for n in string.gmatch(kept, '%d+') do
      before[i] = tonumber(n)
      i = i + 1
    end
  end
  local moved = false
  local now = {}
  for i, field in ipairs(COUNTED) do
    local delta = tonumber(counts[i]) - before[i]
    if delta > 0 then
      redis.call('HINCRBY', incident, field, delta)
      moved = true
      now[i] = tonumber(counts[i])
    else
      now[i] = before[i]
    end
  end
  if final then
    if kept then
      redis.call('HDEL', progress, agentId)
    end
  elseif moved then
    redis.call('HSET', progress, agentId, table.concat(now, ' '))
  end
  return moved
end
