-- Adds an agent's follow-up entries to its incident's timeline, and the counts that step moved
-- to the incident's counts, while the follow-up still runs: a responder watching sees
-- "halted 50" when they are halted, not when the agent's whole follow-up ends. Once the agent
-- has reported (report-agent.lua), its counts are final and a late or repeated step adds only
-- its entries.
-- Each entry is added once: an abort's or a rollback's comes with its step's key, and halts are
-- recorded as the number of the agent's halts not on the timeline yet (the agent's `h:` field
-- keeps how many are). So a follow-up resumed after dying between a step and its entry records
-- what the ledger says was done (FollowupService.recordMissed) without writing anything twice.
-- What a step finds for review (a compensation that failed, an action aborted mid-way) is listed
-- at once, each action once: the agent's report lists only what is not there yet.
-- KEYS: 1 incident hash, 2 reported set, 3 progress hash, 4 timeline list, 5 recorded hash,
--       6 review list
-- ARGV: 1 agentId, 2 halted, 3 aborted, 4 rolledBack, 5 events channel, 6 the incident.updated
--       event (JSON), 7 the halt entry (JSON, without its outcome; '' to record no halts),
--       8 review items (JSON array), 9... pairs of a step's key and its timeline entry (JSON)
-- Returns the number of entries added
--- @include "count-agent.lua"
--- @include "list-review.lua"
local added = 0
if ARGV[7] ~= '' then
  local field = 'h:' .. ARGV[1]
  local before = tonumber(redis.call('HGET', KEYS[5], field) or '0')
  local total = tonumber(ARGV[2])
  if total > before then
    local entry = cjson.decode(ARGV[7])
    local n = total - before
    entry.outcome = n .. (n == 1 and ' queued action halted' or ' queued actions halted')
    if before > 0 then
      entry.outcome = entry.outcome .. ' (' .. total .. ' in all)'
    end
    redis.call('HSET', KEYS[5], field, total)
    redis.call('RPUSH', KEYS[4], cjson.encode(entry))
    added = added + 1
  end
end
for i = 9, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[5], ARGV[i], 1) == 1 then
    redis.call('RPUSH', KEYS[4], ARGV[i + 1])
    added = added + 1
  end
end
local moved = false
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then
  moved = count_agent(KEYS[1], KEYS[3], ARGV[1], {ARGV[2], ARGV[3], ARGV[4]}, false)
  moved = list_review(KEYS[1], KEYS[6], KEYS[5], cjson.decode(ARGV[8])) > 0 or moved
end
-- A resumed follow-up re-sends what was recorded: nothing to tell the phones then.
if added > 0 or moved then
  redis.call('PUBLISH', ARGV[5], ARGV[6])
end
return added
