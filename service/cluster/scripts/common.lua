-- Prepended to every herald cluster script at build time (service/cluster/
-- embed_scripts.cmake). Ids are decimal strings (canonical, as C++ writes
-- them) and are compared as strings, never converted to Lua numbers
-- (doubles cannot hold every int64). Keys: see cluster_state.cc.

-- Ends `user`'s voice presence: returns {user, server, channel, node,
-- connection} or nil when there was none.
local function end_presence(user)
  local key = 'herald:vp:' .. user
  local p = redis.call('HMGET', key, 's', 'c', 'n', 'id')
  if not p[1] then return nil end
  redis.call('DEL', key)
  redis.call('SREM', 'herald:vps:' .. p[1], user)
  redis.call('SREM', 'herald:vpn:' .. p[3], user)
  return {user, p[1], p[2], p[3], p[4]}
end

-- Appends a presence (5 strings) to the flat array `out`.
local function append(out, p)
  if p then
    for i = 1, 5 do out[#out + 1] = p[i] end
  end
  return out
end

-- Removes `user`'s voice grant; true when there was one.
local function remove_grant(user)
  local key = 'herald:grant:' .. user
  local s = redis.call('HGET', key, 's')
  if not s then return false end
  redis.call('DEL', key)
  redis.call('SREM', 'herald:sg:' .. s, user)
  redis.call('DECR', 'herald:grants')
  return true
end

-- Ends every presence held by `node` and forgets the node (its heartbeat
-- key is gone or going); appends what ended to `out`.
local function drop_node(node, out)
  local held = 'herald:vpn:' .. node
  for _, user in ipairs(redis.call('SMEMBERS', held)) do
    if redis.call('HGET', 'herald:vp:' .. user, 'n') == node then
      append(out, end_presence(user))
    end
  end
  redis.call('DEL', held)
  redis.call('SREM', 'herald:nodes', node)
  return out
end

-- The integer value of a counter key (0 when missing).
local function counter(key)
  return tonumber(redis.call('GET', key) or '0')
end

