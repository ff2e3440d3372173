#!lua flags=allow-cross-slot-keys,allow-oom
-- THE stop, for one agent or a batch of them: each agent is marked revoked and its epoch
-- bumped in one atomic step. From the moment this returns, heartbeats, introspection and the
-- action gate refuse the agent: each of them reads its status and compares the lease's epoch
-- with the agent's, so every lease issued before is dead (and stays dead after a
-- reinstatement, which bumps the epoch again). The leases are also marked one by one, for the
-- record, by the follow-up (mark-leases.lua). Two calls per agent and one short token per agent
-- in the reply are what fence 10,000 agents in a few batches of a few ms each.
-- Runs even when Redis is out of memory (allow-oom): a runaway agent may be what filled it, and
-- a stop writes a few fields per agent. Everything else of the stop that must land with it
-- (its record, its incident) is flagged the same way (write-even-if-full.lua).
-- A batch touches many agents' slots: a single Redis allows it; on Redis Cluster the flag
-- above allows it for keys on one node, so a batch must be one node's agents.
-- KEYS: agent hashes, then, for a fan-out, the incident's hash
-- ARGV: 1 reason, 2 revokedBy, 3 incidentId, 4 events channel,
--       5 '1' for a small revocation: publish agent.updated here (bulk revocations publish it
--         from their follow-up) and answer each fenced agent's owner,
--       6 the owner every agent must have, or '' (an owner revoking their own agent),
--       7 '1' for a fan-out: the last key is the incident, and nothing is fenced unless it is
--         still `open` (once recorded, its agents may be reinstated, and must not be fenced
--         again by a second run of the fan-out)
-- Returns {'closed'} (a fan-out's incident is no longer open), or
--   {revokedAt, tokens, details...}: tokens holds one token per agent, space-separated:
--   'r<epoch>' (or 'r<epoch>:<owner>' for a small revocation)   fenced by this call
--   'a<n>'    revoked before: details[n] is '<epoch>|<revokedAt>|<owner>|<incidentId>|<reason>'
--   'm' missing, 'f' another owner's agent (nothing written)
local t = redis.call('TIME')
local now = tostring(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
local small = ARGV[5] == '1'
local needOwner = small or ARGV[6] ~= ''
local tokens = {}
local reply = {now, ''}
local agents = #KEYS
if ARGV[7] == '1' then
  agents = agents - 1
  if redis.call('HGET', KEYS[agents + 1], 'status') ~= 'open' then
    return {'closed'}
  end
end
for i = 1, agents do
  local key = KEYS[i]
  local agent
  if needOwner then
    agent = redis.call('HMGET', key, 'status', 'epoch', 'owner')
  else
    agent = redis.call('HMGET', key, 'status', 'epoch')
  end
  if not agent[1] then
    tokens[i] = 'm'
  elseif ARGV[6] ~= '' and agent[3] ~= ARGV[6] then
    tokens[i] = 'f'
  elseif agent[1] == 'revoked' then
    local before = redis.call('HMGET', key, 'revokedAt', 'owner', 'incidentId', 'revokeReason')
    reply[#reply + 1] = agent[2] .. '|' .. (before[1] or '') .. '|' .. (before[2] or '') .. '|' ..
      (before[3] or '') .. '|' .. (before[4] or '')
    tokens[i] = 'a' .. (#reply - 2)
  else
    local epoch = tonumber(agent[2]) + 1
    -- stoppedBy:<epoch>: which stop revoked that epoch, kept across reinstatements, so that an
    -- action of it halted later (at its start) is counted on that stop.
    redis.call('HSET', key, 'status', 'revoked', 'epoch', epoch, 'revokedAt', now,
      'revokeReason', ARGV[1], 'revokedBy', ARGV[2], 'incidentId', ARGV[3],
      'stoppedBy:' .. agent[2], ARGV[3])
    if small then
      -- Subscribers read the agent itself (the relay): the id is all the event carries.
      redis.call('PUBLISH', ARGV[4], cjson.encode({event = 'agent.updated',
        agentId = string.match(key, '{(.-)}')}))
      tokens[i] = 'r' .. epoch .. ':' .. (agent[3] or '')
    else
      tokens[i] = 'r' .. epoch
    end
  end
end
reply[2] = table.concat(tokens, ' ')
return reply
