-- Adds items to an incident's review list and its needsReview count, an action's once: its
-- `v:` field in the recorded hash marks it listed, whether by the step that found it (a failed
-- compensation, an abort) or by the agent's report, which lists it again. An item about no
-- action (a follow-up that gave up) is always added: its callers add it once. The one place an
-- incident's review list grows. Returns how many were added.
local function list_review(incident, review, recorded, items)
  local added = 0
  for _, item in ipairs(items) do
    if type(item.actionId) ~= 'string'
      or redis.call('HSETNX', recorded, 'v:' .. item.actionId, 1) == 1 then
      redis.call('RPUSH', review, cjson.encode(item))
      added = added + 1
    end
  end
  if added > 0 then
    redis.call('HINCRBY', incident, 'needsReview', added)
  end
  return added
end
