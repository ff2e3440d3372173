-- A fan-out takes over an incident still `open` (its call did not record what it fenced), so
-- that the call, if it is alive after all and fenced nothing, no longer discards it.
-- KEYS: 1 incident hash, 2 tombstone (discard-incident.lua)
-- Returns 'ok', 'discarded' (its call fenced nothing and removed it) or 'missing' (not written yet)
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 'discarded'
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 'missing'
end
redis.call('HSET', KEYS[1], 'takenOver', '1')
return 'ok'
