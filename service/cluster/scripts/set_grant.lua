-- ARGV: user, server, channel. One grant per user (a new one replaces the
-- old); a presence in another place ends. Returns that presence (5
-- strings) or an empty array.
local user, server, channel = ARGV[1], ARGV[2], ARGV[3]
local gk = 'herald:grant:' .. user
local old = redis.call('HMGET', gk, 's', 'c')
if old[1] ~= server or old[2] ~= channel then
  if not old[1] then
    redis.call('INCR', 'herald:grants')
  elseif old[1] ~= server then
    redis.call('SREM', 'herald:sg:' .. old[1], user)
  end
  redis.call('HSET', gk, 's', server, 'c', channel)
  redis.call('SADD', 'herald:sg:' .. server, user)
end
local p = redis.call('HMGET', 'herald:vp:' .. user, 's', 'c')
if p[1] and (p[1] ~= server or p[2] ~= channel) then
  return end_presence(user)
end
return {}
