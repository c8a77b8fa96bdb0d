-- ARGV: user, node, connection. Ends the presence only if it is still this
-- connection's; returns it then (5 strings), else an empty array.
local user = ARGV[1]
local p = redis.call('HMGET', 'herald:vp:' .. user, 'n', 'id')
if p[1] ~= ARGV[2] or p[2] ~= ARGV[3] then return {} end
return end_presence(user)
