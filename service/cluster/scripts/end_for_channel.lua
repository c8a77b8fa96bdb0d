-- ARGV: server, channel. Removes the grants for and presences in that
-- channel. Returns the ended presences (flat, 5 strings each).
local server, channel = ARGV[1], ARGV[2]
for _, user in ipairs(redis.call('SMEMBERS', 'herald:sg:' .. server)) do
  if redis.call('HGET', 'herald:grant:' .. user, 'c') == channel then
    remove_grant(user)
  end
end
local out = {}
for _, user in ipairs(redis.call('SMEMBERS', 'herald:vps:' .. server)) do
  if redis.call('HGET', 'herald:vp:' .. user, 'c') == channel then
    append(out, end_presence(user))
  end
end
return out
