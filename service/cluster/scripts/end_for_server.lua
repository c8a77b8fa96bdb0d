-- ARGV: server. Removes every grant for and presence in the server.
-- Returns the ended presences (flat, 5 strings each).
local server = ARGV[1]
for _, user in ipairs(redis.call('SMEMBERS', 'herald:sg:' .. server)) do
  remove_grant(user)
end
local out = {}
for _, user in ipairs(redis.call('SMEMBERS', 'herald:vps:' .. server)) do
  append(out, end_presence(user))
end
return out
