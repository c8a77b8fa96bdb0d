-- ARGV: hex key, user, expires_at_us ('0': never), PEXPIREAT ms ('' when
-- it never expires), now_us, max_sessions, close message ('' : none).
-- When the key named another user before, PUBLISHes the close message on
-- that user's channel (its sockets on the key must go, on every node).
-- Returns {0, previous user or nil, receivers} or {3} (--max_sessions
-- reached; nothing changed, nothing published).
local id = ARGV[1]
local key = 'herald:sess:' .. id
redis.call('ZREMRANGEBYSCORE', 'herald:sessions', '-inf', ARGV[5])
if not redis.call('ZSCORE', 'herald:sessions', id) and
    redis.call('ZCARD', 'herald:sessions') >= tonumber(ARGV[6]) then
  return {3}
end
local before = redis.call('HGET', key, 'u')
redis.call('HSET', key, 'u', ARGV[2], 'e', ARGV[3])
if ARGV[4] == '' then
  redis.call('PERSIST', key)
  redis.call('ZADD', 'herald:sessions', '+inf', id)
else
  redis.call('PEXPIREAT', key, ARGV[4])
  redis.call('ZADD', 'herald:sessions', ARGV[3], id)
end
local receivers = 0
if before and before ~= ARGV[2] and ARGV[7] ~= '' then
  receivers = redis.call('PUBLISH', 'herald:u:' .. before, ARGV[7])
end
return {0, before, receivers}
