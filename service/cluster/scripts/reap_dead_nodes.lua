-- No ARGV. For every node whose heartbeat key is gone, ends its presences
-- (returned, flat, 5 strings each) and forgets the node.
local out = {}
for _, node in ipairs(redis.call('SMEMBERS', 'herald:nodes')) do
  if redis.call('EXISTS', 'herald:node:' .. node) == 0 then
    drop_node(node, out)
  end
end
return out
