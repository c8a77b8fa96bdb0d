-- ARGV: hex session key, channel, node, connection, now_us.
-- Returns {4001} (unknown or expired token), {4003, user} (no grant for
-- this channel) or {0, user, server, same_place (1/0), the session's
-- expires_at_us ('0': never), then the replaced presence if any}.
local channel, node, connection = ARGV[2], ARGV[3], ARGV[4]
local session = redis.call('HMGET', 'herald:sess:' .. ARGV[1], 'u', 'e')
if not session[1] then return {4001} end
local expires = tonumber(session[2]) or 0
if expires ~= 0 and expires <= tonumber(ARGV[5]) then return {4001} end
local user = session[1]
local grant = redis.call('HMGET', 'herald:grant:' .. user, 's', 'c')
if not grant[1] or grant[2] ~= channel then return {4003, user} end
local server = grant[1]
local replaced = end_presence(user)
local same_place = 0
if replaced and replaced[2] == server and replaced[3] == channel then
  same_place = 1
end
redis.call('HSET', 'herald:vp:' .. user, 's', server, 'c', channel, 'n', node,
           'id', connection)
redis.call('SADD', 'herald:vps:' .. server, user)
redis.call('SADD', 'herald:vpn:' .. node, user)
-- A node holding presence is always known, so ReapDeadNodes finds it even
-- if it never sent a heartbeat.
redis.call('SADD', 'herald:nodes', node)
return append({0, user, server, same_place, session[2] or '0'}, replaced)
