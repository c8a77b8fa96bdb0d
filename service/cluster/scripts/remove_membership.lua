-- ARGV: user, server, channel, message. Publishes whether or not the user
-- was a member, then removes the membership. Returns the receivers.
local user, server = ARGV[1], ARGV[2]
local receivers = redis.call('PUBLISH', ARGV[3], ARGV[4])
if redis.call('SREM', 'herald:um:' .. user, server) == 1 then
  redis.call('SREM', 'herald:sm:' .. server, user)
  redis.call('DECR', 'herald:memberships')
end
return receivers
