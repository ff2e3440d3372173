-- Ends the follow-up of an incident whose fan-out gave up after its retries, rather than leave
-- it `open` (its agents could never be reinstated) or `following_up` forever: it is done, with
-- one review item for the whole incident saying what may not have happened. Agents' follow-ups
-- queued before still report their counts when they end. Once per incident (its fan-out job
-- gives up once): a retry after a lost reply changes nothing, and its entry is not written twice.
-- KEYS: 1 incident hash, 2 review list, 3 timeline list
-- ARGV: 1 review item (JSON), 2 timeline entry (JSON), 3 now (ms), 4 events channel,
--       5 incident.updated event (JSON)
-- Returns the status it leaves (nil: no such incident)
--- @include "list-review.lua"
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return false -- never written, or discarded: nothing to end, and no fragment left behind
end
if redis.call('HSETNX', KEYS[1], 'gaveUpAt', ARGV[3]) == 0 then
  return status
end
if status == 'open' or status == 'following_up' then
  status = 'done'
  redis.call('HSET', KEYS[1], 'status', status, 'doneAt', ARGV[3])
  -- About no action: listed as it is (no recorded hash needed).
  list_review(KEYS[1], KEYS[2], nil, {cjson.decode(ARGV[1])})
end
redis.call('RPUSH', KEYS[3], ARGV[2])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return status
