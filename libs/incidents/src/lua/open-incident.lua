#!lua flags=allow-oom
-- Opens an incident: its hash, the agents it selected and its first timeline entries, once.
-- A second call with the same id (a crash-recovery sweep racing a slow request) changes
-- nothing, so the agents and entries are never written twice.
-- Runs even when Redis is out of memory (allow-oom): a stop lands then too, and its incident
-- with it (a few hundred bytes).
-- KEYS: 1 incident hash, 2 agents (string), 3 timeline list, 4 fenced (string)
-- ARGV: 1 n, then n field/value pairs; then the agent ids, space-separated; then the epochs they
--       were fenced at, as setFenced records them ('' when its call has not fenced them yet); then
--       the timeline entries
-- Returns 1 if opened, 0 if it existed
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local n = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2, 1 + 2 * n))
local at = 2 + 2 * n
-- One string, not a list: written and read in one piece, it costs Redis and the client next to
-- nothing for 10,000 agents.
redis.call('SET', KEYS[2], ARGV[at])
if ARGV[at + 1] ~= '' then
  redis.call('SET', KEYS[4], ARGV[at + 1])
end
if #ARGV > at + 1 then
  redis.call('RPUSH', KEYS[3], unpack(ARGV, at + 2, #ARGV))
end
return 1
