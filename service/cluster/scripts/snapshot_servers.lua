-- ARGV: user, channel, marker. The user's servers, and the marker published
-- on the user's channel in the same atomic step.
local servers = redis.call('SMEMBERS', 'herald:um:' .. ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return servers
