-- ARGV: user, max_memberships_per_user, max_memberships, channel, message,
-- server ids (distinct)...
-- Returns {0, receivers, added, removed}, {1, servers the user would have}
-- or {2, memberships herald would hold}.
local user = ARGV[1]
local um = 'herald:um:' .. user
local want, have = {}, {}
local added, removed = {}, {}
for i = 6, #ARGV do want[ARGV[i]] = true end
for _, s in ipairs(redis.call('SMEMBERS', um)) do
  have[s] = true
  if not want[s] then removed[#removed + 1] = s end
end
for i = 6, #ARGV do
  if not have[ARGV[i]] then added[#added + 1] = ARGV[i] end
end
local count = #ARGV - 5
if count > tonumber(ARGV[2]) then return {1, count} end
-- The global limit refuses growth only (a lowered limit may still shrink).
local total = counter('herald:memberships') - #removed + #added
if #added > #removed and total > tonumber(ARGV[3]) then return {2, total} end
if #added == 0 and #removed == 0 then return {0, 0, added, removed} end
for _, s in ipairs(removed) do
  redis.call('SREM', um, s)
  redis.call('SREM', 'herald:sm:' .. s, user)
end
for _, s in ipairs(added) do
  redis.call('SADD', um, s)
  redis.call('SADD', 'herald:sm:' .. s, user)
end
redis.call('INCRBY', 'herald:memberships', #added - #removed)
return {0, redis.call('PUBLISH', ARGV[4], ARGV[5]), added, removed}
