-- Where the stop that revoked an agent stands, included where `--- @include "stop-state.lua"`
-- stands (reinstating and deleting an agent, each checked in the same step as its write):
--   'recording': its incident is `open` (its call, or a fan-out after a crash, is still
--                recording what it fenced), or not written yet less than `unwritten_ms` after
--                the fence (its call is about to write it);
--   'following': its incident is following up (halts, aborts, rollbacks running);
--   'done':      over, or no incident (an incident never written after that long).
-- `incident` is the hash of the agent's `incidentId`; `now` and `revoked_at` are ms.
local function stop_state(incident, incident_id, revoked_at, now, unwritten_ms)
  if incident_id == '' then
    return 'done'
  end
  local status = redis.call('HGET', incident, 'status')
  if status == 'open' then
    return 'recording'
  end
  if status == 'following_up' then
    return 'following'
  end
  if not status and now - tonumber(revoked_at or 0) < tonumber(unwritten_ms) then
    return 'recording'
  end
  return 'done'
end

-- The agent's stop as reinstate-agent.lua and delete-agent.lua read it: 'moved' when it names
-- another incident than the one its caller read (and was told to check: a stop landed since),
-- else its stop_state. Also answers the time (ms), which both write.
local function agent_stop(incident, read_id, agent_incident_id, revoked_at, unwritten_ms)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local incident_id = agent_incident_id or ''
  if incident_id ~= read_id then
    return 'moved', now
  end
  return stop_state(incident, incident_id, revoked_at, now, unwritten_ms), now
end
