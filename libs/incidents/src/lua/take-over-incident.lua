-- A fan-out takes over an incident still `open` (its call did not record what it fenced), so
-- that the call, if it is alive after all, neither discards it (discard-incident.lua) nor
-- records it (record-fenced.lua): from here the fan-out fences and records.
-- KEYS: 1 incident hash, 2 tombstone (discard-incident.lua)
-- Returns 'ok' (taken over: it stays `open` until the fan-out records it), 'recorded' (its call
-- recorded it first: nothing taken), 'discarded' (its call fenced nothing and removed it) or
-- 'missing' (not written yet)
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 'discarded'
end
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return 'missing'
end
if status ~= 'open' then
  return 'recorded'
end
redis.call('HSET', KEYS[1], 'takenOver', '1')
return 'ok'
