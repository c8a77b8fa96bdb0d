-- ARGV: hex key. Returns the session's user (expired or not) or nil.
local key = 'herald:sess:' .. ARGV[1]
local user = redis.call('HGET', key, 'u')
redis.call('DEL', key)
redis.call('ZREM', 'herald:sessions', ARGV[1])
return user
