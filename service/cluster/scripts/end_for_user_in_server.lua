-- ARGV: user, server. Removes the user's grant and presence in that
-- server. Returns the ended presence (flat, 5 strings each).
local user, server = ARGV[1], ARGV[2]
if redis.call('HGET', 'herald:grant:' .. user, 's') == server then
  remove_grant(user)
end
local out = {}
if redis.call('HGET', 'herald:vp:' .. user, 's') == server then
  append(out, end_presence(user))
end
return out
