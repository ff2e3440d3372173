-- Resolves a device token hash to the device and its user in one round trip (every socket
-- connect and every stop), like authenticate-key.lua for API keys.
-- KEYS: 1 device hash. ARGV: 1 user key prefix (the key name without the id)
-- Returns {deviceId, userId, name, createdAt, user id, user name, role, user createdAt} | nil
local device = redis.call('HMGET', KEYS[1], 'deviceId', 'userId', 'name', 'createdAt')
if not device[1] or not device[2] then
  return nil
end
local user = redis.call('HMGET', ARGV[1] .. device[2], 'id', 'name', 'role', 'createdAt')
return {device[1], device[2], device[3], device[4], user[1], user[2], user[3], user[4]}
