-- Resolves an incident once its follow-up is over (`done`). Resolving one still `open` or
-- `following_up` would cut its follow-up short: its call or fan-out would find it no longer
-- theirs to record (nothing halted, aborted or rolled back), and its agents could be reinstated
-- or deleted mid-stop. Checked here, in the same step as the write. `force` (an admin's way out
-- of a follow-up that is stuck) resolves one still open or following up all the same, and its
-- timeline entry says so, from the status found here (the caller's read may be stale).
-- KEYS: 1 incident hash, 2 timeline list
-- ARGV: 1 resolvedAt (ms), 2 resolvedBy (JSON), 3 note, 4 timeline entry (JSON),
--       5 events channel, 6 the incident.updated event (JSON), 7 '1' to force
-- Returns 'ok' | 'missing' | the status that refused it ('open', 'following_up', 'resolved')
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return 'missing'
end
if status == 'resolved' or (status ~= 'done' and ARGV[7] ~= '1') then
  return status
end
redis.call('HSET', KEYS[1], 'status', 'resolved', 'resolvedAt', ARGV[1], 'resolvedBy', ARGV[2],
  'note', ARGV[3])
local entry = ARGV[4]
if status ~= 'done' then
  redis.call('HSET', KEYS[1], 'forcedFrom', status)
  local forced = cjson.decode(entry)
  forced.outcome = 'resolved while ' .. status .. ' (forced)'
  forced.detail = (forced.detail or '') .. ' (its follow-up stops where it is)'
  entry = cjson.encode(forced)
end
redis.call('RPUSH', KEYS[2], entry)
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 'ok'
