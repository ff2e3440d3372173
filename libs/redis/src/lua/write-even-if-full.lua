#!lua flags=allow-oom
-- A small write of a stop, done even when Redis is out of memory (maxmemory reached, which
-- refuses every write not flagged like this script): a runaway agent may be what filled it,
-- and the stop must land then most of all. Only the few commands a stop needs are allowed, so
-- that this cannot become a way around maxmemory for anything else.
-- KEYS: 1 the key
-- ARGV: 1 the command ('ZADD', 'SADD' or 'RPUSH'), then its arguments after the key
-- Returns the command's reply
local command = ARGV[1]
if command ~= 'ZADD' and command ~= 'SADD' and command ~= 'RPUSH' then
  return redis.error_reply('ERR write-even-if-full does not run ' .. tostring(command))
end
return redis.call(command, KEYS[1], unpack(ARGV, 2))
