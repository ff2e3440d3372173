#!lua flags=allow-oom
-- Claims a device's stop (one requestId) for the delivery that carries it out, so that the same
-- stop sent again (after a reconnect, or through the HTTP fallback) never stops twice.
-- The key holds the answer (JSON) once there is one; until then `pending <token> <incidentId>
-- <lease until, ms>`. The incident id is chosen by the first claim and kept: a delivery whose
-- relay died leaves its lease to lapse, and the resend that takes the claim over can tell
-- whether the stop landed (its incident exists) before carrying it out again.
-- Runs even when Redis is out of memory (allow-oom): a phone's stop lands then too.
-- KEYS: 1 the stop request
-- ARGV: 1 token of this delivery, 2 an incident id for a stop not claimed yet, 3 lease (ms),
--       4 how long the request is remembered (s)
-- Returns {'answer', json} | {'held'} | {'claimed', incidentId} | {'taken', incidentId} (the
--   lease of an earlier delivery had lapsed: it may have carried the stop out)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local stored = redis.call('GET', KEYS[1])
-- Refusals are released, never kept (nothing was stopped, so a resend is judged afresh); one
-- stored anyway was kept by an older relay, and would replay for a day: it counts as no claim.
-- (Needed only for a day after upgrading from such a relay; removable in the release after.)
if stored and string.sub(stored, 1, 11) == '{"ok":false' then
  stored = nil
end
local function hold(incidentId)
  redis.call('SET', KEYS[1], 'pending ' .. ARGV[1] .. ' ' .. incidentId .. ' ' ..
    (now + tonumber(ARGV[3])), 'EX', ARGV[4])
end
if not stored then
  hold(ARGV[2])
  return {'claimed', ARGV[2]}
end
local token, incidentId, leaseUntil = string.match(stored, '^pending (%S+) (%S+) (%d+)$')
if not token then
  return {'answer', stored}
end
if now < tonumber(leaseUntil) then
  return {'held'}
end
hold(incidentId)
return {'taken', incidentId}
