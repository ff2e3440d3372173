#!lua flags=allow-oom
-- Records which agents a bulk stop fenced, once, and moves its incident past `open`: to
-- `following_up`, or `done` when it fenced none. Either the call that fenced them records it,
-- or a fan-out that took the incident over (take-over-incident.lua) because the call seemed
-- dead; never both. A call that finds its incident taken over leaves it to the fan-out, which
-- fences and records on its own: had the call recorded, an agent reinstated right after could
-- be fenced again by the fan-out, which read `open` before. Reinstating is refused while the
-- incident is `open`, so nothing can be reinstated between a fan-out's fence and this.
-- Whoever records it puts its entry on the timeline in the same step (the fence, or that there
-- was nothing to do), so that it is there exactly once, whichever of the two recorded it.
-- Runs even when Redis is out of memory (allow-oom), as the fence it records does.
-- KEYS: 1 incident hash, 2 agents string, 3 fenced string, 4 timeline list
-- ARGV: 1 'call' or 'fan-out', 2 agents count ('' to keep), 3 agents string ('' to keep),
--       4 fenced count, 5 the epoch each agent was revoked at ('' if none), 6 now (ms),
--       7 the timeline entry (JSON, '' for none), 8 events channel
-- Returns 1 if recorded, 0 if not open (recorded already) or taken over from this call
if redis.call('HGET', KEYS[1], 'status') ~= 'open' then
  return 0
end
if ARGV[1] == 'call' and redis.call('HEXISTS', KEYS[1], 'takenOver') == 1 then
  return 0
end
local fenced = tonumber(ARGV[4])
if fenced > 0 then
  redis.call('HSET', KEYS[1], 'fenced', fenced, 'total', fenced, 'status', 'following_up')
  redis.call('SET', KEYS[3], ARGV[5])
else
  redis.call('HSET', KEYS[1], 'fenced', 0, 'total', 0, 'status', 'done', 'doneAt', ARGV[6])
end
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[1], 'agents', ARGV[2])
  redis.call('SET', KEYS[2], ARGV[3])
end
if ARGV[7] ~= '' then
  redis.call('RPUSH', KEYS[4], ARGV[7])
  redis.call('PUBLISH', ARGV[8], cjson.encode({event = 'incident.updated',
    incidentId = string.match(KEYS[1], '{(.-)}'), step = cjson.decode(ARGV[7]).step}))
end
return 1
