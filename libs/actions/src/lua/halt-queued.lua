-- Halts up to ARGV[2] of an agent's queued (not yet released) actions that were submitted
-- under an epoch that is no longer live, up to the epoch this stop revoked. Batched so that no
-- single call holds Redis for long, whatever the queue's length; actions of a newer epoch
-- (after a reinstatement) stay queued, and if a later stop revoked that epoch too, they are its
-- follow-up's to halt and count (they come after this stop's in the list: FIFO).
-- Released actions that have not started yet (waiting in the worker queue, or waiting out a
-- retry's backoff) are halted too, so that nothing of a revoked agent is left waiting once its
-- follow-up is done; their jobs then find them halted and do nothing. If the agent is active
-- again (reinstated), its newer actions are released into the room this makes.
-- KEYS: 1 agent hash, 2 pending list, 3 running set
-- ARGV: 1 action key prefix (without the id), 2 batch size, 3 events channel, 4 detail,
--       5 retention ms, 6 follow-up key prefix (without the incident id), 7 default concurrency,
--       8 the incident whose follow-up halts them (counted there: the agent, reinstated or
--         revoked again since, may name another), 9 the epoch that incident revoked
-- Returns {halted, examined, released...}: released are the reinstated agent's actions moved into
--   the room this made, and those a halt released before that still wait for their job (a run
--   of this follow-up that died before adding it left them so; adding a job again is a no-op).
--   Only those a halt released (marked `haltReleased`): an action released by another's end
--   waits to run inline in that action's job, and must not get a job of its own.
--- @include "gate.lua"
local agent = redis.call('HMGET', KEYS[1], 'status', 'epoch')
local ids = redis.call('LRANGE', KEYS[2], 0, tonumber(ARGV[2]) - 1)
local released = redis.call('SMEMBERS', KEYS[3])
local now = now_ms()
local agentId = string.match(KEYS[1], '{(.-)}')
local halted = 0
local revoked = tonumber(ARGV[9])
local function stale(action)
  return (agent[1] ~= 'active' or action[2] ~= agent[2]) and tonumber(action[2]) <= revoked
end
for _, id in ipairs(ids) do
  local key = ARGV[1] .. id
  local action = redis.call('HMGET', key, 'status', 'epoch', 'type')
  if not action[1] or stale(action) then
    redis.call('LREM', KEYS[2], 1, id)
  end
  if action[1] == 'queued' and stale(action) then
    end_action(key, 'halted', agentId, id, action[3], ARGV[4], now, ARGV[5], ARGV[3])
    halted = halted + 1
  end
end
for _, id in ipairs(released) do
  local key = ARGV[1] .. id
  local action = redis.call('HMGET', key, 'status', 'epoch', 'type')
  if (action[1] == 'queued' or action[1] == 'retrying') and stale(action) then
    redis.call('SREM', KEYS[3], id)
    end_action(key, 'halted', agentId, id, action[3], ARGV[4], now, ARGV[5], ARGV[3])
    halted = halted + 1
  end
end
if halted > 0 then
  redis.call('HINCRBY', ARGV[6] .. ARGV[8], 'halted', halted)
end
local reply = {halted, #ids}
local moved = {}
for _, id in ipairs(release_next(KEYS[1], KEYS[3], KEYS[2], ARGV[7])) do
  moved[id] = true
  redis.call('HSET', ARGV[1] .. id, 'haltReleased', 1)
  table.insert(reply, id)
end
if agent[1] == 'active' then
  for _, id in ipairs(redis.call('SMEMBERS', KEYS[3])) do
    if not moved[id] then
      local action = redis.call('HMGET', ARGV[1] .. id, 'status', 'epoch', 'haltReleased')
      if action[1] == 'queued' and action[2] == agent[2] and action[3] == '1' then
        table.insert(reply, id)
      end
    end
  end
end
return reply
