-- Deletes every API key of a user in one step: no window where some still work.
-- KEYS: 1 user's apikeys set. ARGV: 1 apikey key prefix (the key name without the hash)
local hashes = redis.call('SMEMBERS', KEYS[1])
for _, hash in ipairs(hashes) do
  redis.call('DEL', ARGV[1] .. hash)
end
redis.call('DEL', KEYS[1])
return #hashes
