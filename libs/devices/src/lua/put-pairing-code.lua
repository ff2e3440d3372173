-- Stores a pairing code (its SHA-256) for a user, and lists it under the user, so that revoking
-- the user's devices voids the codes not used yet too. The list holds only live codes, at most
-- ARGV[4]: expired ones are dropped here (used ones as they pair), and past the limit the
-- oldest are retired, so that a user asking for code after code can neither grow it without end
-- nor make revoking their devices a long script.
-- KEYS: 1 pairing code, 2 user's live pairing codes (sorted set: hash -> when made, ms)
-- ARGV: 1 userId, 2 the code's hash, 3 lifetime (s), 4 most live codes per user,
--       5 pairing code key prefix (without the hash)
-- Returns 1, or 0 if the code is taken (the caller draws another)
if redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3], 'NX') == false then
  return 0
end
-- A code has expired when its key has: asked of each (a handful), not read off a score, as a
-- code made under a longer PAIRING_CODE_TTL_SECONDS must stay listed while it can pair.
local listed = redis.call('ZRANGE', KEYS[2], 0, -1)
for _, hash in ipairs(listed) do
  if redis.call('EXISTS', ARGV[5] .. hash) == 0 then
    redis.call('ZREM', KEYS[2], hash)
  end
end
local over = redis.call('ZCARD', KEYS[2]) - (tonumber(ARGV[4]) - 1)
if over > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[2], over)
  for i = 1, #oldest, 2 do
    redis.call('DEL', ARGV[5] .. oldest[i])
  end
end
local t = redis.call('TIME')
local made = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- After the newest even when made in the same millisecond: the oldest scores lowest.
local newest = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if newest[2] and tonumber(newest[2]) >= made then
  made = tonumber(newest[2]) + 1
end
redis.call('ZADD', KEYS[2], made, ARGV[2])
-- The list lives as long as its longest-lived code: extended, never shortened.
local lifetimeMs = tonumber(ARGV[3]) * 1000
if redis.call('PTTL', KEYS[2]) < lifetimeMs then
  redis.call('PEXPIRE', KEYS[2], lifetimeMs)
end
return 1
