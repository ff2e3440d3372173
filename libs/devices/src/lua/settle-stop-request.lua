#!lua flags=allow-oom
-- Ends a delivery's claim on a stop (claim-stop-request.lua), if it still holds it: a delivery
-- whose lease lapsed and was taken over must neither answer for nor release the one that took
-- it over.
-- Runs even when Redis is out of memory (allow-oom), as the claim it settles does.
-- KEYS: 1 the stop request
-- ARGV: 1 token of this delivery, 2 the answer (JSON), or '' to release the claim (the stop was
--       not, or not known to be, carried out: a resend takes it over at once), 3 how long the
--       request is remembered (s)
-- Returns 1 if settled, 0 if this delivery no longer held it
local stored = redis.call('GET', KEYS[1])
local token, incidentId = string.match(stored or '', '^pending (%S+) (%S+) %d+$')
if token ~= ARGV[1] then
  return 0
end
if ARGV[2] == '' then
  redis.call('SET', KEYS[1], 'pending ' .. token .. ' ' .. incidentId .. ' 0', 'EX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
end
return 1
