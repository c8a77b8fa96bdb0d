-- ARGV: hex key, close message ('': none). Removes the session and, when
-- there was one (expired or not), PUBLISHes the close message on its
-- user's channel. Returns {user or nil, receivers}.
local key = 'herald:sess:' .. ARGV[1]
local user = redis.call('HGET', key, 'u')
redis.call('DEL', key)
redis.call('ZREM', 'herald:sessions', ARGV[1])
local receivers = 0
if user and ARGV[2] ~= '' then
  receivers = redis.call('PUBLISH', 'herald:u:' .. user, ARGV[2])
end
return {user, receivers}
