-- Adds one agent's follow-up outcome to its incident, exactly once, and closes the follow-up
-- when the last agent reports. Its counts may have been added in part already, step by step
-- (agent-progress.lua): only the rest is added.
-- Its review items may have been listed in part already, as their steps found them
-- (agent-progress.lua): only the rest is listed.
-- KEYS: 1 incident hash, 2 reported set, 3 review list, 4 timeline list, 5 progress hash,
--       6 recorded hash
-- ARGV: 1 agentId, 2 halted, 3 aborted, 4 rolledBack, 5 review items JSON array,
--       6 events channel
-- Returns {done, total, status}
--- @include "count-agent.lua"
--- @include "list-review.lua"
if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then
  count_agent(KEYS[1], KEYS[5], ARGV[1], {ARGV[2], ARGV[3], ARGV[4]}, true)
  list_review(KEYS[1], KEYS[3], KEYS[6], cjson.decode(ARGV[5]))
  redis.call('HINCRBY', KEYS[1], 'done', 1)
end
local state = redis.call('HMGET', KEYS[1], 'done', 'total', 'status', 'halted', 'aborted',
  'rolledBack', 'needsReview', 'fenced')
local done = tonumber(state[1] or 0)
local total = tonumber(state[2] or 0)
local status = state[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if done >= total and (status == 'open' or status == 'following_up') then
  status = 'done'
  redis.call('HSET', KEYS[1], 'status', 'done', 'doneAt', now)
  redis.call('RPUSH', KEYS[4], cjson.encode({at = now, actor = 'killswitch', step = 'follow-up',
    outcome = 'complete', detail = 'halted ' .. (state[4] or 0) .. ', aborted ' ..
    (state[5] or 0) .. ', rolled back ' .. (state[6] or 0) .. ', needs review ' ..
    (state[7] or 0)}))
end
redis.call('PUBLISH', ARGV[6], cjson.encode({event = 'incident.updated',
  incidentId = string.match(KEYS[1], '{(.-)}'), status = status, done = done, total = total}))
return {done, total, status}
