#!lua flags=allow-oom
-- Removes an incident whose call fenced nothing, unless a fan-out has taken it over (the
-- sweeper queues one for a call that seems to have died, and it fences what the call did not).
-- Leaves a tombstone, so that a fan-out arriving later knows the incident was given up rather
-- than not written yet.
-- Runs even when Redis is out of memory (allow-oom): a stop that fenced nothing still answers
-- then (the tombstone is a few bytes; the incident it removes is more).
-- KEYS: 1 incident hash, 2 agents, 3 timeline, 4 tombstone
-- ARGV: 1 tombstone lifetime (seconds)
-- Returns 1 if removed, 0 if a fan-out holds it or it is no longer open
if redis.call('HGET', KEYS[1], 'status') ~= 'open' or redis.call('HEXISTS', KEYS[1], 'takenOver') == 1 then
  return 0
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('SET', KEYS[4], '1', 'EX', ARGV[1])
return 1
