-- ARGV: node, ttl_ms, value (the node's clock, µs). The node's key lives
-- ttl_ms; the node is listed in herald:nodes for ReapDeadNodes.
redis.call('SET', 'herald:node:' .. ARGV[1], ARGV[3], 'PX', ARGV[2])
redis.call('SADD', 'herald:nodes', ARGV[1])
return 1
