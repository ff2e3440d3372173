-- Steps the gate's scripts share, included where `--- @include "gate.lua"` stands.

-- Redis' clock in milliseconds: every instance agrees on it.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Whether an action may still run (or is running): not yet ended.
local function is_live(status)
  return status == 'queued' or status == 'running' or status == 'retrying'
end

local function publish_update(channel, agentId, actionId, actionType, status, now)
  redis.call('PUBLISH', channel, cjson.encode({event = 'action.updated', agentId = agentId,
    actionId = actionId, type = actionType, status = status, at = now}))
end

-- Ends an action a stop caught (`halted`, or `aborted`): status, history, retention and the
-- status event.
local function end_action(key, status, agentId, actionId, actionType, detail, now,
    retentionMs, channel)
  redis.call('HSET', key, 'status', status, 'updatedAt', now, 'finishedAt', now,
    'error', detail)
  redis.call('RPUSH', key .. ':history', cjson.encode({status = status, at = now,
    detail = detail}))
  redis.call('PEXPIRE', key, retentionMs)
  redis.call('PEXPIRE', key .. ':history', retentionMs)
  publish_update(channel, agentId, actionId, actionType, status, now)
end

-- Moves the head of an active agent's pending list to its running set while it runs fewer
-- actions than its concurrency; answers the ids moved (their jobs are the caller's to add).
local function release_next(agentKey, runningKey, pendingKey, defaultConcurrency)
  local agent = redis.call('HMGET', agentKey, 'status', 'concurrency')
  local released = {}
  if agent[1] ~= 'active' then
    return released
  end
  local concurrency = tonumber(agent[2] or defaultConcurrency)
  while redis.call('SCARD', runningKey) < concurrency do
    local nextId = redis.call('LPOP', pendingKey)
    if not nextId then
      break
    end
    redis.call('SADD', runningKey, nextId)
    table.insert(released, nextId)
  end
  return released
end
