-- ARGV: user, server, max_memberships_per_user, max_memberships, channel,
-- message.
-- Returns {0, receivers, 1 when added / 0 when already a member},
-- {1, servers the user would have} or {2, memberships herald would hold}.
local user, server = ARGV[1], ARGV[2]
local um = 'herald:um:' .. user
if redis.call('SISMEMBER', um, server) == 1 then return {0, 0, 0} end
local count = redis.call('SCARD', um) + 1
if count > tonumber(ARGV[3]) then return {1, count} end
local total = counter('herald:memberships') + 1
if total > tonumber(ARGV[4]) then return {2, total} end
redis.call('SADD', um, server)
redis.call('SADD', 'herald:sm:' .. server, user)
redis.call('INCR', 'herald:memberships')
return {0, redis.call('PUBLISH', ARGV[5], ARGV[6]), 1}
