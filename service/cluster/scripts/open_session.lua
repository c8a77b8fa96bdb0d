-- ARGV: hex key, user, expires_at_us ('0': never), PEXPIREAT ms ('' when
-- it never expires), now_us, max_sessions.
-- Returns {0, previous user or nil} or {3} (--max_sessions reached).
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
return {0, before}
