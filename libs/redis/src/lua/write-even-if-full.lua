#!lua flags=allow-oom,allow-cross-slot-keys
-- Small writes of a stop, done even when Redis is out of memory (maxmemory reached, which
-- refuses every write not flagged like this script): a runaway agent may be what filled it,
-- and the stop must land then most of all. Only the few commands a stop needs are allowed, so
-- that this cannot become a way around maxmemory for anything else.
-- The same command with the same arguments goes to each key (an incident listed in each of its
-- owners' indexes): the keys may lie in several slots, which a single Redis allows; on Redis
-- Cluster the flag above allows it for keys on one node.
-- KEYS: the keys
-- ARGV: 1 the command ('ZADD', 'SADD' or 'RPUSH'), then its arguments after the key
-- Returns the reply of the command on the last key
local command = ARGV[1]
if command ~= 'ZADD' and command ~= 'SADD' and command ~= 'RPUSH' then
  return redis.error_reply('ERR write-even-if-full does not run ' .. tostring(command))
end
local reply = 0
for i = 1, #KEYS do
  reply = redis.call(command, KEYS[i], unpack(ARGV, 2))
end
return reply
