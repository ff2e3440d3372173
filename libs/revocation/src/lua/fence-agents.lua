#!lua flags=allow-cross-slot-keys
-- THE stop, for one agent or a batch of them: each agent is marked revoked and its epoch
-- bumped in one atomic step. From the moment this returns, heartbeats, introspection and the
-- action gate refuse the agent: each of them reads its status and compares the lease's epoch
-- with the agent's, so every lease issued before is dead (and stays dead after a
-- reinstatement, which bumps the epoch again). The leases are also marked one by one, for the
-- record, by the follow-up (mark-leases.lua). Keeping this script to two calls per agent and
-- one reply string per agent is what fences 10,000 agents in a few batches of a few ms each.
-- A batch touches many agents' slots: a single Redis allows it; on Redis Cluster the flag
-- above allows it for keys on one node, so a batch must be one node's agents.
-- KEYS: agent hashes
-- ARGV: 1 reason, 2 revokedBy, 3 incidentId, 4 events channel,
--       5 '1' to publish agent.updated here (bulk revocations publish it from their follow-up),
--       6 the owner every agent must have, or '' (an owner revoking their own agent)
-- Returns one string per agent:
--   'revoked|<epoch>|<revokedAt>|<owner>'                          fenced by this call
--   'already|<epoch>|<revokedAt>|<owner>|<incidentId>|<reason>'   revoked before
--   'missing', or 'forbidden' (another owner's agent; nothing written)
local t = redis.call('TIME')
local now = tostring(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
local out = {}
for i, key in ipairs(KEYS) do
  local agent = redis.call('HMGET', key, 'status', 'owner', 'epoch')
  local owner = agent[2] or ''
  if not agent[1] then
    out[i] = 'missing'
  elseif ARGV[6] ~= '' and owner ~= ARGV[6] then
    out[i] = 'forbidden'
  elseif agent[1] == 'revoked' then
    local before = redis.call('HMGET', key, 'revokedAt', 'incidentId', 'revokeReason')
    out[i] = 'already|' .. agent[3] .. '|' .. (before[1] or '') .. '|' .. owner .. '|' ..
      (before[2] or '') .. '|' .. (before[3] or '')
  else
    local epoch = tonumber(agent[3]) + 1
    redis.call('HSET', key, 'status', 'revoked', 'epoch', epoch, 'revokedAt', now,
      'revokeReason', ARGV[1], 'revokedBy', ARGV[2], 'incidentId', ARGV[3])
    if ARGV[5] == '1' then
      -- Subscribers read the agent itself (the relay): the id is all the event carries.
      redis.call('PUBLISH', ARGV[4], cjson.encode({event = 'agent.updated',
        agentId = string.match(key, '{(.-)}')}))
    end
    out[i] = 'revoked|' .. epoch .. '|' .. now .. '|' .. owner
  end
end
return out
