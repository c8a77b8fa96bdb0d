-- ARGV: server, channel, message. Publishes, then removes every membership
-- of the server. Returns the receivers.
local server = ARGV[1]
local receivers = redis.call('PUBLISH', ARGV[2], ARGV[3])
local sm = 'herald:sm:' .. server
local members = redis.call('SMEMBERS', sm)
for _, user in ipairs(members) do
  redis.call('SREM', 'herald:um:' .. user, server)
end
redis.call('DEL', sm)
if #members > 0 then
  redis.call('DECRBY', 'herald:memberships', #members)
end
return receivers
