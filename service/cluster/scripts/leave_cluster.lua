-- ARGV: node. The node drains: ends its presences (returned, flat, 5
-- strings each), deletes its heartbeat key and forgets it.
redis.call('DEL', 'herald:node:' .. ARGV[1])
return drop_node(ARGV[1], {})
