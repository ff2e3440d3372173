-- Opens an incident: its hash, the agents it selected and its first timeline entries, once.
-- A second call with the same id (a crash-recovery sweep racing a slow request) changes
-- nothing, so the agents and entries are never written twice.
-- KEYS: 1 incident hash, 2 agents list, 3 timeline list
-- ARGV: 1 n, then n field/value pairs; then m, then m agent ids; then the timeline entries
-- Returns 1 if opened, 0 if it existed
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local n = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2, 1 + 2 * n))
local at = 2 + 2 * n
local m = tonumber(ARGV[at])
-- In slices: unpack() is bounded by Lua's stack.
for i = at + 1, at + m, 1000 do
  redis.call('RPUSH', KEYS[2], unpack(ARGV, i, math.min(i + 999, at + m)))
end
if #ARGV > at + m then
  redis.call('RPUSH', KEYS[3], unpack(ARGV, at + m + 1, #ARGV))
end
return 1
