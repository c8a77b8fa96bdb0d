-- ARGV: server. Returns {user, channel, user, channel, ...} of the
-- server's voice presences.
local out = {}
for _, user in ipairs(redis.call('SMEMBERS', 'herald:vps:' .. ARGV[1])) do
  local channel = redis.call('HGET', 'herald:vp:' .. user, 'c')
  if channel then
    out[#out + 1] = user
    out[#out + 1] = channel
  end
end
return out
