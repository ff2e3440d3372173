-- Adds an agent's follow-up entries to its incident's timeline, and the counts that step moved
-- to the incident's counts, while the follow-up still runs: a responder watching sees
-- "halted 50" when they are halted, not when the agent's whole follow-up ends. Once the agent
-- has reported (report-agent.lua), its counts are final and a late or repeated step adds only
-- its entries.
-- Each entry comes with its step's key, and is added only the first time that key is: a
-- follow-up resumed after dying between a step and its entry records what the ledger says it
-- did (FollowupService.recordMissed) without writing twice what was recorded.
-- KEYS: 1 incident hash, 2 reported set, 3 progress hash, 4 timeline list, 5 recorded set
-- ARGV: 1 agentId, 2 halted, 3 aborted, 4 rolledBack, 5 events channel, 6 the incident.updated
--       event (JSON), 7... pairs of a step's key and its timeline entry (JSON)
-- Returns the number of entries added
--- @include "count-agent.lua"
local added = 0
for i = 7, #ARGV, 2 do
  if redis.call('SADD', KEYS[5], ARGV[i]) == 1 then
    redis.call('RPUSH', KEYS[4], ARGV[i + 1])
    added = added + 1
  end
end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then
  count_agent(KEYS[1], KEYS[3], ARGV[1], {ARGV[2], ARGV[3], ARGV[4]}, false)
end
redis.call('PUBLISH', ARGV[5], ARGV[6])
return added
